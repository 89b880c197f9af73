/**
 * The lab's Neutron behind Keystone (the default lab): Neutron refuses
 * requests without a valid token, the openstack CLI works with the clouds
 * lab-admin and lab-demo that lab/up.sh writes, and the kuryr daemon
 * authenticates as user kuryr of project service (its networks belong to
 * that project, a member of project demo does not see them) without writing
 * its password to the log. Skipped when the lab runs noauth
 * (KURYR_LAB_NOAUTH=1). The 401 → re-authenticate path is unit-tested
 * (test/unit/keystone-auth.test.ts): Keystone's API cannot revoke the
 * daemon's token without knowing it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { RUN_PREFIX, cleanupDocker, docker, networkId, neutron, taggedWith } from './support.js';

const run = promisify(execFile);
const NEUTRON = 'http://127.0.0.1:9696';
const KURYR_CONF = '/etc/kuryr-lab/kuryr.conf';
const KURYR_LOG = '/var/log/kuryr-lab/kuryr.log';

function labAuth(): string {
  try {
    return readFileSync('/run/kuryr-lab/auth', 'utf8').trim();
  } catch {
    return 'noauth';
  }
}

/** The openstack CLI (Debian's) with only OS_CLOUD set: the user's clouds.yaml decides. */
async function openstack(cloud: string, ...args: string[]): Promise<unknown> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
  try {
    const { stdout } = await run('openstack', [...args, '-f', 'json'], { env: { ...env, OS_CLOUD: cloud }, timeout: 120_000 });
    return JSON.parse(stdout) as unknown;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`OS_CLOUD=${cloud} openstack ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`, { cause: err });
  }
}

const networks: string[] = [];
after(() => cleanupDocker([], networks));

describe('Neutron behind Keystone', { skip: labAuth() !== 'keystone' && 'the lab runs noauth (KURYR_LAB_NOAUTH=1)', timeout: 300_000 }, () => {
  it('Neutron answers 401 without a token or with a bogus one, and names Keystone', async () => {
    const none = await fetch(`${NEUTRON}/v2.0/networks?limit=1`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /127\.0\.0\.1:5000/);
    const bogus = await fetch(`${NEUTRON}/v2.0/networks?limit=1`, { headers: { 'X-Auth-Token': 'not-a-token' } });
    assert.equal(bogus.status, 401);
  });

  it('kuryr.conf uses password auth as kuryr of project service; the daemon logs who it is, never the password', async () => {
    const conf = parseIni(readFileSync(KURYR_CONF, 'utf8'), KURYR_CONF).get('neutron')!;
    assert.equal(conf.get('auth_type')?.value, 'password');
    assert.equal(conf.get('username')?.value, 'kuryr');
    assert.equal(conf.get('project_name')?.value, 'service');
    assert.equal(statSync(KURYR_CONF).mode & 0o077, 0, 'kuryr.conf (it holds a password) is private');
    const password = conf.get('password')!.value;
    const log = readFileSync(KURYR_LOG, 'utf8');
    assert.match(log, /"?auth"?[:=]"kuryr\.conf \[neutron\]: Keystone v3 http:\/\/127\.0\.0\.1:5000\/v3: password of user kuryr \(domain Default\), project service/);
    assert.ok(!log.includes(password), 'the password is not in the daemon log');
  });

  it('the daemon works as kuryr/service; the openstack CLI works with lab-admin and lab-demo (who cannot see it)', async () => {
    const net = `${RUN_PREFIX}-ks`;
    networks.push(net);
    await docker('network', 'create', '-d', 'kuryr', '--ipam-driver', 'kuryr', '--subnet', '10.140.0.0/24', '--gateway', '10.140.0.1', net);
    const [neutronNet] = await taggedWith('networks', await networkId(net));
    assert.ok(neutronNet, 'the Neutron network exists');

    const service = (await openstack('lab-admin', 'project', 'show', 'service')) as { id: string };
    assert.equal(neutronNet.project_id, service.id, 'created by a user of project service');

    const adminNets = (await openstack('lab-admin', 'network', 'list')) as Array<{ ID: string }>;
    assert.ok(adminNets.some((n) => n.ID === neutronNet.id), 'lab-admin sees every network');

    const demoToken = (await openstack('lab-demo', 'token', 'issue')) as { project_id: string; user_id: string };
    const demo = (await openstack('lab-admin', 'project', 'show', 'demo')) as { id: string };
    assert.equal(demoToken.project_id, demo.id, 'lab-demo is scoped to project demo');
    const demoNets = (await openstack('lab-demo', 'network', 'list')) as Array<{ ID: string }>;
    assert.ok(Array.isArray(demoNets));
    assert.ok(!demoNets.some((n) => n.ID === neutronNet.id), "a member of demo does not see project service's network");

    await docker('network', 'rm', net);
    assert.deepEqual(await neutron.list('networks', { id: neutronNet.id }), [], 'docker network rm deleted it');
  });
});
