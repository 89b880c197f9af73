/**
 * `kuryr doctor`: checks, and explains in plain words, what a working
 * kuryr-ts host needs — config, Neutron reachability and auth, extensions,
 * the OVS integration bridge, the binding host id vs. OVN/agents, Docker's
 * discovery of the plugin and the socket. Read-only; exit 0 when all pass.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { exec } from '../adapters/linux/exec.js';
import { neutronAuthFrom } from '@kuryr-ts/openstack/keystone/auth-sources';
import { NeutronClient } from '@kuryr-ts/openstack/neutron/client';
import { loadConfig, type KuryrConfig } from '../config/kuryr-config.js';
import { describeError } from '@kuryr-ts/openstack/errors';
import { OpStats } from '@kuryr-ts/openstack/lib/op-stats';
import { portDriverOf } from './binders.js';
import type { ConfigChoice } from './config-discovery.js';
import { kuryrUriCheck, socketAccessCheck } from './doctor-access.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** What to do about a failure. */
  hint?: string;
}

function unixPost(socketPath: string, path: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'POST', timeout: timeoutMs, headers: { 'Content-Length': 0 } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout'))).on('error', reject);
    req.end();
  });
}

async function check(name: string, fn: () => Promise<Omit<Check, 'name'>>): Promise<Check> {
  try {
    return { name, ...(await fn()) };
  } catch (err) {
    return { name, ok: false, detail: describeError(err) };
  }
}

/** The configuration check: which files (and why those), valid or not, and what in them is ignored. */
function configurationCheck(choice: ConfigChoice): { check: Check; config?: KuryrConfig } {
  const source = `${choice.files.length > 0 ? choice.files.join(', ') : 'no config file'} — ${choice.why}`;
  try {
    if (choice.error !== undefined) throw choice.error;
    const config = loadConfig(choice.files, process.env, choice.read);
    portDriverOf(config);
    const warnings = config.warnings.length > 0 ? `; ${config.warnings.length} warning(s): ${config.warnings.map((w) => w.message).join('; ')}` : '';
    return { check: { name: 'configuration', ok: true, detail: `valid: ${source}${warnings}` }, config };
  } catch (err) {
    return { check: { name: 'configuration', ok: false, detail: `${describeError(err)} (${source})`, hint: 'fix the option named above (see docs/configuration.md)' } };
  }
}

export async function runDoctor(choice: ConfigChoice): Promise<Check[]> {
  const { check: configCheck, config } = configurationCheck(choice);
  const checks: Check[] = [configCheck];
  if (!config) return checks;
  const neutron = new NeutronClient(neutronAuthFrom(config.neutron.auth, { timeoutMs: config.neutron.timeoutS * 1000 }).auth, {
    timeoutMs: 10_000,
    attempts: 1,
    stats: new OpStats(),
  });

  checks.push(
    await check('Neutron reachable and authenticated', async () => {
      await neutron.list('networks', { limit: 1 });
      return { ok: true, detail: 'GET /v2.0/networks answered' };
    }),
  );
  checks.push(
    await check('Neutron extensions', async () => {
      const want = ['subnet_allocation', 'binding', 'security-group', 'port-security', 'allowed-address-pairs'];
      const tags = (await neutron.hasExtension('standard-attr-tag')) || ((await neutron.hasExtension('tag')) && (await neutron.hasExtension('tag-ext')));
      const missing = [];
      for (const alias of want) if (!(await neutron.hasExtension(alias))) missing.push(alias);
      if (!tags) missing.push('standard-attr-tag');
      return missing.length === 0
        ? { ok: true, detail: `${[...want, 'standard-attr-tag'].join(', ')} present` }
        : { ok: false, detail: `missing: ${missing.join(', ')}`, hint: 'kuryr needs subnet_allocation and the tag extension; the others for binding, security groups and nested containers' };
    }),
  );
  checks.push(
    await check('OVS integration bridge', async () => {
      const { stdout } = await exec('ovs-vsctl', ['--timeout=5', 'br-exists', config.binding.integrationBridge]).then(
        () => exec('ovs-vsctl', ['--timeout=5', 'get', 'Bridge', config.binding.integrationBridge, 'datapath_type']),
      );
      return { ok: true, detail: `${config.binding.integrationBridge} exists (datapath_type ${stdout.trim() || 'system'})` };
    }).then((c) => (c.ok ? c : { ...c, hint: `is Open vSwitch running, and is [binding] integration_bridge (${config.binding.integrationBridge}) the bridge ovn-controller / the OVS agent manages?` })),
  );
  checks.push(
    await check('binding host id', async () => {
      const ovsHost = (await exec('ovs-vsctl', ['--timeout=5', 'get', 'Open_vSwitch', '.', 'external_ids:hostname']).catch(() => ({ stdout: '' }))).stdout.trim().replace(/"/g, '');
      const agents = await neutron.list('agents', { host: config.binding.hostId });
      const alive = agents.filter((a) => a.alive);
      if (alive.length === 0) {
        return {
          ok: false,
          detail: `Neutron has no alive agent for host "${config.binding.hostId}"${ovsHost ? ` (OVN chassis here: "${ovsHost}")` : ''}`,
          hint: 'set [binding] host_id to the name the OVN chassis / OVS agent of this host registered, or ports end in binding_failed',
        };
      }
      const mismatch = ovsHost && ovsHost !== config.binding.hostId;
      return {
        ok: !mismatch,
        detail: `alive: ${alive.map((a) => a.agent_type).join(', ')} for "${config.binding.hostId}"${mismatch ? `, but this host's OVS says "${ovsHost}"` : ''}`,
        ...(mismatch ? { hint: 'the agent for host_id lives on another host: ports would be bound there' } : {}),
      };
    }),
  );
  checks.push(
    await check('plugin socket', async () => {
      const path = config.pluginSocket;
      if (!existsSync(path)) return { ok: false, detail: `${path} does not exist`, hint: 'start the daemon: kuryr-server --config-file … (or kuryr daemon --config-file …)' };
      const st = statSync(path);
      if (!st.isSocket()) return { ok: false, detail: `${path} is not a socket` };
      const res = await unixPost(path, '/Plugin.Activate');
      const ok = res.status === 200 && res.body.includes('NetworkDriver') && res.body.includes('IpamDriver');
      return { ok, detail: `${path} (mode ${(st.mode & 0o777).toString(8)}) answers Plugin.Activate: ${res.body.trim()}` };
    }),
  );
  checks.push(await socketAccessCheck(config.pluginSocket), await kuryrUriCheck(config));
  checks.push(
    await check('Docker discovery', async () => {
      const name = config.pluginSocket.replace(/^.*\//, '').replace(/\.sock$/, '');
      const shadow = ['/etc/docker/plugins', '/usr/lib/docker/plugins']
        .flatMap((d) => (existsSync(d) ? readdirSync(d).map((f) => `${d}/${f}`) : []))
        .filter((f) => f.includes(`/${name}.`) || f.endsWith(`/${name}`));
      const dockerUp = existsSync('/var/run/docker.sock');
      const underDocker = config.pluginSocket.startsWith('/run/docker/plugins/') || config.pluginSocket.startsWith('/var/run/docker/plugins/');
      return {
        ok: underDocker && dockerUp,
        detail:
          `${underDocker ? `Docker finds it as "${name}" (-d ${name} --ipam-driver ${name})` : `${config.pluginSocket} is outside /run/docker/plugins: Docker needs a spec file`}` +
          `${shadow.length ? `; spec files for the same name (a socket wins over them): ${shadow.join(', ')}` : ''}` +
          `${dockerUp ? '' : '; no Docker Engine on /var/run/docker.sock'}`,
      };
    }),
  );
  checks.push(
    await check('host tools', async () => {
      const missing = [];
      for (const tool of ['ip', 'ethtool', 'ovs-vsctl', 'iptables']) {
        try {
          await exec('sh', ['-c', `command -v ${tool}`]);
        } catch {
          missing.push(tool);
        }
      }
      return missing.length === 0 ? { ok: true, detail: 'ip, ethtool, ovs-vsctl, iptables found' } : { ok: false, detail: `missing: ${missing.join(', ')}`, hint: 'apt-get install iproute2 ethtool openvswitch-switch iptables' };
    }),
  );
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks
    .map((c) => `${c.ok ? '✔' : '✘'} ${c.name}: ${c.detail}${!c.ok && c.hint ? `\n    → ${c.hint}` : ''}`)
    .join('\n');
}
