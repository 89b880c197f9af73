/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are inspected loosely */
/**
 * Crash safety: a create, a network attach and a network detach are "killed"
 * between each of their steps (the builder's checkpoint hook never resolves:
 * that process does nothing more), then a second zun-api on the same database,
 * Neutron and Docker starts and recovers. Whatever the step, nothing the
 * service made is left in Neutron (ports, security groups) or Docker, a user's
 * port is unbound (never deleted), and the container can be deleted.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import type { Checkpoint } from '../../src/domain/sandbox-builder.js';
import { as, harness, seedWorkflow, type Harness } from '../fakes.js';

const P1 = as('p1');

/** A hook that kills its process at the k-th step (1-based) and says where. */
function killAt(k: number, armed: () => boolean = () => true) {
  let n = 0;
  let reached!: (step: string) => void;
  const crashed = new Promise<string>((r) => (reached = r));
  const hook: Checkpoint = async (step) => {
    if (!armed()) return;
    if (++n === k) {
      reached(step);
      await new Promise<never>(() => undefined); // this process is dead: it never takes another step
    }
  };
  return { hook, crashed };
}

async function call(h: Harness, method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) {
  const res = await h.app.inject({ method, url, headers: P1, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Record<string, any>) : {} };
}

/** Neutron: the Zun network foo (testnet) and a second network of p1 with a user's port on it. */
async function seed(h: Harness): Promise<{ userPort: NeutronPort; net2: string }> {
  seedWorkflow(h.neutron);
  const net2 = h.neutron.add('networks', { name: 'net2', project_id: 'p1' });
  h.neutron.add('subnets', { name: 'sub2', network_id: net2.id, project_id: 'p1', ip_version: 4, cidr: '10.9.0.0/24', gateway_ip: '10.9.0.1' });
  const userPort = h.neutron.add('ports', { name: 'userport', network_id: net2.id, project_id: 'p1', fixed_ips: [{ subnet_id: h.neutron.subnets.at(-1)!.id, ip_address: '10.9.0.50' }] });
  const foo = await call(h, 'POST', '/v1/networks', { name: 'foo', neutron_net_id: 'testnet', neutron_pool_id: 'testpool', neutron_subnet_id: 'testsubnet' });
  assert.equal(foo.status, 200, JSON.stringify(foo.body));
  return { userPort, net2: net2.id };
}

/** Nothing the service made is left: no port but the user's (unbound), no exposed-ports group, no Docker container. */
function assertNothingLeft(h: Harness, userPort: NeutronPort, where: string): void {
  const ports = h.neutron.ports.filter((p) => p.id !== userPort.id);
  assert.deepEqual(ports.map((p) => `${p.name} ${p.device_id}`), [], `${where}: service ports left`);
  assert.deepEqual(h.neutron.all('security-groups').filter((g) => g.name.startsWith('zun-')).map((g) => g.name), [], `${where}: exposed-ports groups left`);
  assert.equal(h.neutron.all('security-group-rules').length, 0, `${where}: rules left`);
  const user = h.neutron.ports.find((p) => p.id === userPort.id);
  assert.ok(user, `${where}: the user's port is never deleted`);
  assert.equal(user.device_id, '', `${where}: the user's port is unbound`);
  assert.equal(h.docker.containers.size, 0, `${where}: Docker containers left`);
}

/** A second zun-api process on the same database, Neutron and Docker. */
const restart = (h: Harness): Promise<Harness> => harness('sqlite::memory:', { shareWith: h });

describe('crash safety: a create killed between any two steps leaves nothing after recovery', () => {
  it('every step of a create (exposed ports, a service port, a user port, a second network)', async () => {
    const seen: string[] = [];
    for (let k = 1; ; k++) {
      const kill = killAt(k);
      const h = await harness('sqlite::memory:', { checkpoint: kill.hook });
      const { userPort } = await seed(h);
      const res = await call(h, 'POST', '/v1/containers?run=true', {
        image: 'kuryr/busybox',
        command: ['sleep', '600'],
        nets: [{ network: 'foo' }, { port: userPort.id }],
        exposed_ports: { '80/tcp': {} },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const step = await Promise.race([kill.crashed, h.containers.idle().then(() => undefined)]);
      if (step === undefined) {
        // past the last step: the create finished; nothing to recover
        assert.equal((await call(h, 'GET', `/v1/containers/${res.body.uuid}`)).body.status, 'Running');
        await h.close();
        break;
      }
      seen.push(step);
      const h2 = await restart(h);
      try {
        assert.ok((await h2.containers.recover()) >= 1, `after ${step}: recovery repaired the container`);
        const show = await call(h2, 'GET', `/v1/containers/${res.body.uuid}`);
        assert.equal(show.body.status, 'Error', `after ${step}`);
        assert.match(show.body.status_reason, /restarted while the container was Creating/);
        assertNothingLeft(h2, userPort, `killed after "${step}"`);
        assert.equal((await h2.store.attachments.listByContainer(res.body.uuid)).length, 0, `after ${step}: attachment rows`);
        // the Error container deletes cleanly, and its networks too
        assert.equal((await call(h2, 'DELETE', `/v1/containers/${res.body.uuid}`)).status, 204, `after ${step}`);
        assert.equal((await call(h2, 'DELETE', '/v1/networks/foo')).status, 204, `after ${step}`);
        assertNothingLeft(h2, userPort, `killed after "${step}", then deleted`);
      } finally {
        await h2.close();
        await h.close();
      }
    }
    for (const step of ['container recorded', 'security group created', 'security group rule created', 'attachment recorded', 'port created', 'port claimed', 'port recorded', 'sandbox created', 'sandbox connected', 'container started']) {
      assert.ok(seen.includes(step), `a crash after "${step}" was tried (${seen.join(', ')})`);
    }
  });

  it('recovery finds a port whose id was never recorded, by device_id = the container uuid', async () => {
    const steps: string[] = [];
    const hook: Checkpoint = async (step) => {
      steps.push(step);
      if (step === 'port created') await new Promise<never>(() => undefined);
    };
    const h = await harness('sqlite::memory:', { checkpoint: hook });
    const { userPort } = await seed(h);
    const res = await call(h, 'POST', '/v1/containers', { image: 'kuryr/busybox', nets: [{ network: 'foo' }], exposed_ports: { '80/tcp': {} } });
    while (!steps.includes('port created')) await new Promise((r) => setImmediate(r));
    const row = (await h.store.attachments.listByContainer(res.body.uuid))[0]!;
    assert.equal(row.portId, '', 'the port exists in Neutron, its id is not in the database');
    assert.equal(row.pending, true);
    assert.equal(h.neutron.ports.filter((p) => p.device_id === res.body.uuid).length, 1);
    // the container row is Creating: a restart makes it Error, and delete (or the recovery) cleans by identity
    const h2 = await restart(h);
    try {
      await h2.containers.recover();
      assertNothingLeft(h2, userPort, 'port and group never recorded');
    } finally {
      await h2.close();
      await h.close();
    }
  });
});

describe('crash safety: network attach and detach killed between any two steps', () => {
  async function running(h: Harness) {
    const seeded = await seed(h);
    const res = await call(h, 'POST', '/v1/containers?run=true', { image: 'kuryr/busybox', nets: [{ network: 'foo' }] });
    await new Promise((r) => setImmediate(r));
    return { ...seeded, uuid: res.body.uuid as string };
  }

  for (const variant of ['a service port with a fixed IP', "the user's port"] as const) {
    it(`attach (${variant}): after recovery the network is not attached, its port is gone (or unbound), the container is usable`, async () => {
      const seen: string[] = [];
      for (let k = 1; ; k++) {
        let armed = false;
        const kill = killAt(k, () => armed);
        const h = await harness('sqlite::memory:', { checkpoint: kill.hook });
        const { userPort, uuid, net2 } = await running(h);
        await h.containers.idle();
        armed = true;
        const query = variant === "the user's port" ? `port=${userPort.id}` : `network=${net2}&fixed_ip=10.9.0.77`;
        const attach = h.app.inject({ method: 'POST', url: `/v1/containers/${uuid}/network_attach?${query}`, headers: P1 });
        const step = await Promise.race([kill.crashed, attach.then(() => undefined)]);
        if (step === undefined) {
          assert.equal((await attach).statusCode, 200, (await attach).body);
          await h.close();
          break;
        }
        seen.push(step);
        const h2 = await restart(h);
        try {
          await h2.containers.recover();
          const c = (await h2.store.containers.get(uuid))!;
          assert.equal(c.status, 'Running', `after ${step}`);
          assert.equal(c.taskState, null, `after ${step}: the task is cleared`);
          assert.deepEqual((await h2.store.attachments.listByContainer(uuid)).map((a) => a.neutronNetId), [h2.neutron.networks.find((n) => n.name === 'testnet')!.id], `after ${step}`);
          assert.deepEqual(h2.neutron.ports.filter((p) => p.network_id === net2 && p.id !== userPort.id).length, 0, `after ${step}: port on net2`);
          assert.equal(h2.neutron.ports.find((p) => p.id === userPort.id)!.device_id, '', `after ${step}: user port unbound`);
          const sandbox = [...h2.docker.containers.values()].find((x) => x.spec.name.startsWith('zun-sandbox-'))!;
          assert.deepEqual([...sandbox.networks.keys()].filter((n) => n === net2), [], `after ${step}: the sandbox left net2`);
          // the container works on: attach again, then delete, leaving nothing
          const again = await h2.app.inject({ method: 'POST', url: `/v1/containers/${uuid}/network_attach?${query}`, headers: P1 });
          assert.equal(again.statusCode, 200, `after ${step}: ${again.body}`);
          assert.equal((await h2.app.inject({ method: 'DELETE', url: `/v1/containers/${uuid}?stop=true`, headers: P1 })).statusCode, 204);
          assertNothingLeft(h2, userPort, `attach killed after "${step}"`);
        } finally {
          await h2.close();
          await h.close();
        }
      }
      const expected = variant === "the user's port" ? ['attachment recorded', 'port claimed', 'port recorded', 'sandbox connected'] : ['attachment recorded', 'port created', 'port recorded', 'sandbox connected'];
      assert.deepEqual(seen, expected);
    });
  }

  it('detach: after recovery the network is gone with its port, the container usable', async () => {
    const seen: string[] = [];
    for (let k = 1; ; k++) {
      let armed = false;
      const kill = killAt(k, () => armed);
      const h = await harness('sqlite::memory:', { checkpoint: kill.hook });
      const { userPort, uuid, net2 } = await running(h);
      await h.containers.idle();
      assert.equal((await h.app.inject({ method: 'POST', url: `/v1/containers/${uuid}/network_attach?network=${net2}`, headers: P1 })).statusCode, 200);
      armed = true;
      const detach = h.app.inject({ method: 'POST', url: `/v1/containers/${uuid}/network_detach?network=${net2}`, headers: P1 });
      const step = await Promise.race([kill.crashed, detach.then(() => undefined)]);
      if (step === undefined) {
        assert.equal((await detach).statusCode, 202);
        await h.close();
        break;
      }
      seen.push(step);
      const h2 = await restart(h);
      try {
        await h2.containers.recover();
        assert.equal((await h2.store.containers.get(uuid))!.taskState, null);
        assert.equal((await h2.store.attachments.listByContainer(uuid)).length, 1, `after ${step}: only foo is attached`);
        assert.equal(h2.neutron.ports.filter((p) => p.network_id === net2 && p.id !== userPort.id).length, 0, `after ${step}`);
        assert.equal((await h2.app.inject({ method: 'DELETE', url: `/v1/containers/${uuid}?stop=true`, headers: P1 })).statusCode, 204);
        assertNothingLeft(h2, userPort, `detach killed after "${step}"`);
      } finally {
        await h2.close();
        await h.close();
      }
    }
    assert.deepEqual(seen, ['detach recorded', 'sandbox disconnected', 'port released']);
  });
});
