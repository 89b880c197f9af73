/**
 * Removes everything a run made, whatever state it stopped in: its containers
 * and networks in Docker, the extra daemons, the endpoints and networks made
 * through the plugin protocol, the measured daemon, the proxy, the raised
 * quota; then counts (and deletes) what is left of the run in Neutron: each
 * count should be 0.
 */
import { NeutronError } from '@kuryr-ts/openstack/errors';
import type { ResourceName } from '@kuryr-ts/openstack/neutron/types';
import { DEVICE_OWNER, networkName } from '@kuryr-ts/kuryr/domain/naming';
import type { Lab } from './context.js';
import { docker, neutronNetworkOf } from './lab.js';
import type { Results } from './report.js';
import { pool } from './util.js';

/** Cleanup runs once, however many times it is asked for (the end of the run, a signal). */
export function cleanupOnce(lab: Lab): () => Promise<Results['cleanup']> {
  let cleaning: Promise<Results['cleanup']> | undefined;
  return () => (cleaning ??= cleanup(lab));
}

async function cleanup(lab: Lab): Promise<Results['cleanup']> {
  const { names, made, neutron, proxy } = lab;
  const RUN = names.run;
  const notes: string[] = [];
  const ids = (await docker('ps', '-aq', '--filter', `name=^/${RUN}-`)).out.split('\n').filter(Boolean);
  if (ids.length > 0) {
    notes.push(`removed ${ids.length} leftover containers`);
    await docker('rm', '-f', ...ids);
  }
  const netNames = (await docker('network', 'ls', '--format', '{{.Name}}', '--filter', `name=${RUN}-`)).out.split('\n').filter(Boolean);
  for (const nm of netNames) {
    const rm = await docker('network', 'rm', nm);
    notes.push(rm.ok ? `removed leftover network ${nm}` : `could not remove leftover network ${nm}: ${rm.out.trim().slice(0, 200)}`);
  }
  await made.poolDaemon?.stop();
  made.poolDaemon = undefined;
  await made.nullDriver?.stop();
  made.nullDriver = undefined;
  await made.afterReplyDaemon?.stop();
  made.afterReplyDaemon = undefined;
  if (made.daemon) {
    const nets = made.pluginNets;
    if (nets) {
      for (const eid of [...nets.endpoints.keys()]) await nets.detach(eid).catch((e: Error) => notes.push(`endpoint ${eid.slice(0, 12)}: ${e.message}`));
      await pool([...nets.live.values()], 4, (net) => nets.delete(net).catch((e: Error) => notes.push(`network ${net.nid.slice(0, 12)}: ${e.message}`)));
    }
    await made.daemon.stop();
    made.daemon = undefined;
  }
  await proxy.stop();
  const quotaNote = await made.quota.undo();
  if (quotaNote !== undefined) notes.push(quotaNote);
  // what is left in Neutron of this run (each should be 0)
  const leaks = { networks: 0, subnetpools: 0, ports: 0 };
  // a leftover already gone, or one Neutron will not delete, is no reason to stop looking
  const remove = (resource: ResourceName, id: string): Promise<unknown> =>
    neutron.delete(resource, id).catch((err: unknown) => {
      if (!(err instanceof NeutronError && err.status !== undefined)) throw err;
    });
  try {
    const plugNets = await neutron.list('networks', { name: networkName(names.nidPrefix) });
    const floor = await neutron.list('networks', { name: `${RUN}-floor` });
    const floorPorts = await neutron.list('ports', { name: `${RUN}-floor` });
    const dockerNets: string[] = [];
    for (const id of made.dockerNetworkIds) {
      const nid = await neutronNetworkOf(neutron, id);
      if (nid) dockerNets.push(nid);
    }
    const pools = (await neutron.list('subnetpools', { fields: ['id', 'name'] })).filter((p) => /^kuryrPool-(10\.23[0-9]\.|fd00:be:)/.test(p.name) || p.name === `${RUN}-floor`);
    leaks.networks = plugNets.length + floor.length + dockerNets.length;
    leaks.subnetpools = pools.length;
    leaks.ports = floorPorts.length;
    for (const p of floorPorts) await remove('ports', p.id);
    for (const net of [...plugNets, ...floor].map((x) => x.id).concat(dockerNets)) {
      for (const p of await neutron.list('ports', { network_id: net, device_owner: DEVICE_OWNER })) {
        leaks.ports += 1;
        await remove('ports', p.id);
      }
      await remove('networks', net);
    }
    for (const p of pools) await remove('subnetpools', p.id);
    if (leaks.networks + leaks.subnetpools + leaks.ports > 0) notes.push(`Neutron leftovers deleted by the bench: ${JSON.stringify(leaks)}`);
  } catch (err) {
    notes.push(`leak check failed: ${(err as Error).message}`);
  }
  return { leaks, notes };
}
