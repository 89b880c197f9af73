/**
 * Who can reach the plugin API: the unix socket is 0660 whatever the umask,
 * and a plain-HTTP kuryr_uri off loopback is refused unless
 * insecure_kuryr_uri says otherwise.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { buildConfig } from '../../src/config/kuryr-config.js';
import { kuryrUriCheck, socketAccessCheck } from '../../src/main/doctor-access.js';
import { assessKuryrUri, isLoopback } from '../../src/main/kuryr-uri.js';
import { listenOnSocket } from '../../src/main/plugin-socket.js';

const dir = mkdtempSync(join(tmpdir(), 'kt-access-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function post(socketPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ socketPath, path: '/Plugin.Activate', method: 'POST' }, (res) => (res.resume(), resolve(res.statusCode ?? 0)))
      .on('error', reject)
      .end();
  });
}

describe('plugin socket mode', () => {
  it('is 0660 even with umask 000, the umask is left as it was, and a stale socket is replaced', async () => {
    const path = join(dir, 'sub', 'kuryr.sock');
    const previous = process.umask(0);
    const servers = [createServer((_req, res) => res.end('{}')), createServer((_req, res) => res.end('{}'))];
    try {
      await listenOnSocket(servers[0]!, path);
      assert.equal(statSync(path).mode & 0o777, 0o660);
      assert.equal(process.umask(0), 0, 'umask restored');
      assert.equal(await post(path), 200);
      // A socket left at the path (a crashed daemon's) is replaced, and the new one is 0660 too.
      writeFileSync(join(dir, 'not-a-socket'), '');
      await listenOnSocket(servers[1]!, path);
      assert.equal(statSync(path).mode & 0o777, 0o660);
      await assert.rejects(listenOnSocket(createServer(), join(dir, 'not-a-socket')), /exists and is not a socket/);
    } finally {
      process.umask(previous);
      for (const s of servers) s.close();
    }
  });

  it('doctor: a socket other users can connect to fails, 0660 passes', async () => {
    const path = join(dir, 'doctor.sock');
    const server = createServer((_req, res) => res.end('{}'));
    try {
      await listenOnSocket(server, path);
      const good = await socketAccessCheck(path);
      assert.equal(good.ok, true, good.detail);
      assert.match(good.detail, /^mode 0660, owner \S+:\S+/);
      const { chmodSync } = await import('node:fs');
      chmodSync(path, 0o777);
      const bad = await socketAccessCheck(path);
      assert.equal(bad.ok, false);
      assert.match(bad.detail, /^mode 0777, owner \S+: every local user can call the plugin API/);
      assert.match(bad.hint ?? '', /restart the daemon/);
    } finally {
      server.close();
    }
  });
});

describe('kuryr_uri', () => {
  const base = { enableSsl: false, sslCaFile: undefined, insecureKuryrUri: false };

  it('loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
    for (const a of ['0.0.0.0', '10.0.0.1', '::', '::2', 'fe80::1', '128.0.0.1']) assert.equal(isLoopback(a), false, a);
  });

  it("Kuryr's http://127.0.0.1:23750 is served, with a warning; unset is fine", async () => {
    assert.deepEqual(await assessKuryrUri({ ...base, kuryrUri: undefined }), { level: 'none' });
    const v = await assessKuryrUri({ ...base, kuryrUri: 'http://127.0.0.1:23750' });
    assert.equal(v.level, 'warn');
    assert.match((v as { message: string }).message, /plain HTTP on loopback: any local user can call the plugin API/);
    assert.equal((await assessKuryrUri({ ...base, kuryrUri: 'http://localhost:23750' })).level, 'warn');
    assert.equal((await assessKuryrUri({ ...base, kuryrUri: 'http://[::1]:23750' })).level, 'warn');
  });

  it('plain HTTP on another address is refused with a coded error naming the option, unless insecure_kuryr_uri', async () => {
    for (const uri of ['http://0.0.0.0:23750', 'http://10.1.2.3:23750', 'http://[::]:23750']) {
      const v = await assessKuryrUri({ ...base, kuryrUri: uri });
      assert.equal(v.level, 'refuse', uri);
      const err = (v as { error: { code: string; message: string } }).error;
      assert.equal(err.code, 'KURYR_ERR_INSECURE_KURYR_URI');
      assert.match(err.message, /unauthenticated.*insecure_kuryr_uri = True/);
    }
    const allowed = await assessKuryrUri({ ...base, kuryrUri: 'http://0.0.0.0:23750', insecureKuryrUri: true });
    assert.equal(allowed.level, 'warn');
    assert.match((allowed as { message: string }).message, /allowed by insecure_kuryr_uri/);
  });

  it('HTTPS: with ssl_ca_file fine anywhere; without it, a warning off loopback', async () => {
    assert.equal((await assessKuryrUri({ ...base, enableSsl: true, sslCaFile: '/ca.pem', kuryrUri: 'https://0.0.0.0:23750' })).level, 'ok');
    assert.equal((await assessKuryrUri({ ...base, enableSsl: true, kuryrUri: 'https://0.0.0.0:23750' })).level, 'warn');
    assert.equal((await assessKuryrUri({ ...base, enableSsl: true, kuryrUri: 'https://127.0.0.1:23750' })).level, 'ok');
  });

  it('the option is read from kuryr.conf, and doctor reports what the daemon would do', async () => {
    const conf = (text: string) => buildConfig(parseIni(text, 'kuryr.conf'), {});
    assert.equal(conf('[DEFAULT]\n').insecureKuryrUri, false);
    const open = conf('[DEFAULT]\nkuryr_uri = http://0.0.0.0:23750\ninsecure_kuryr_uri = True\n');
    assert.equal(open.insecureKuryrUri, true);
    const refused = await kuryrUriCheck(conf('[DEFAULT]\nkuryr_uri = http://0.0.0.0:23750\n'));
    assert.equal(refused.ok, false);
    assert.match(refused.detail, /the daemon refuses to start: .*unauthenticated/);
    assert.equal((await kuryrUriCheck(conf('[DEFAULT]\nkuryr_uri = http://127.0.0.1:23750\n'))).ok, true);
    assert.match((await kuryrUriCheck(conf('[DEFAULT]\n'), { dirs: [] })).detail, /not set: the plugin API is served on the unix socket only/);
    // Kuryr-libnetwork's spec file left in place: its address is served too, under the same rules.
    const specs = join(dir, 'specs');
    mkdirSync(join(specs, 'kuryr'), { recursive: true });
    writeFileSync(join(specs, 'kuryr', 'kuryr.spec'), 'http://127.0.0.1:23750\n');
    const served = await kuryrUriCheck(conf('[DEFAULT]\n'), { dirs: [specs] });
    assert.equal(served.ok, true);
    assert.match(served.detail, /also listening on http:\/\/127\.0\.0\.1:23750: kuryr_uri is not set and Docker's spec file .*kuryr\.spec names this address/);
    writeFileSync(join(specs, 'kuryr', 'kuryr.spec'), 'http://0.0.0.0:23750\n');
    const offLoopback = await kuryrUriCheck(conf('[DEFAULT]\n'), { dirs: [specs] });
    assert.equal(offLoopback.ok, false);
    assert.match(offLoopback.hint ?? '', /remove the spec file/);
  });
});

describe('[neutron] probe options', () => {
  const conf = (text: string) => buildConfig(parseIni(text, 'kuryr.conf'), {});
  it('default to a 30 s cap and no deadline; invalid values are named', () => {
    const c = conf('[neutron]\n');
    assert.equal(c.neutron.probeMaxIntervalS, 30);
    assert.equal(c.neutron.probeDeadlineS, 0);
    const set = conf('[neutron]\nprobe_max_interval = 5\nprobe_deadline = 600\n');
    assert.equal(set.neutron.probeMaxIntervalS, 5);
    assert.equal(set.neutron.probeDeadlineS, 600);
    assert.throws(() => conf('[neutron]\nprobe_max_interval = 0\n'), /\[neutron\] probe_max_interval/);
    assert.throws(() => conf('[neutron]\nprobe_deadline = -1\n'), /\[neutron\] probe_deadline/);
  });
});
