/**
 * A host that ran Kuryr-libnetwork: Docker's spec file for the driver names
 * Kuryr's TCP address, which a running dockerd keeps calling. Without
 * kuryr_uri the daemon serves that address too, under kuryr_uri's rules.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assessKuryrUri } from '../../src/main/kuryr-uri.js';
import { addressToServe, findPluginSpec, specListener } from '../../src/main/plugin-spec.js';

const root = mkdtempSync(join(tmpdir(), 'kt-spec-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Two fresh directories standing for /etc/docker/plugins and /usr/lib/docker/plugins. */
function dirs(): [string, string] {
  const base = join(root, String(n++));
  const d: [string, string] = [join(base, 'etc'), join(base, 'usr-lib')];
  for (const x of d) mkdirSync(x, { recursive: true });
  return d;
}

function put(dir: string, rel: string, text: string): string {
  const path = join(dir, rel);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe("Docker's spec file for the driver", () => {
  it("is looked up in Docker's order: N.spec, N/N.spec, N.json, N/N.json, /etc before /usr/lib", () => {
    const [etc, usr] = dirs();
    assert.equal(findPluginSpec('kuryr', { dirs: [etc, usr] }), undefined);
    const kuryrs = put(usr, 'kuryr/kuryr.spec', 'http://127.0.0.1:23750\n'); // Kuryr-libnetwork's packaging puts it here
    assert.deepEqual(findPluginSpec('kuryr', { dirs: [etc, usr] }), { path: kuryrs, addr: 'http://127.0.0.1:23750', tls: false });
    const json = put(etc, 'kuryr/kuryr.json', JSON.stringify({ Name: 'kuryr', Addr: 'http://127.0.0.1:23751' }));
    assert.equal(findPluginSpec('kuryr', { dirs: [etc, usr] })?.path, json, '/etc/docker/plugins first');
    const nested = put(etc, 'kuryr/kuryr.spec', ' http://127.0.0.1:23752 ');
    assert.equal(findPluginSpec('kuryr', { dirs: [etc, usr] })?.path, nested, '.spec before .json');
    const flat = put(etc, 'kuryr.spec', 'http://127.0.0.1:23753');
    assert.equal(findPluginSpec('kuryr', { dirs: [etc, usr] })?.path, flat);
    assert.equal(findPluginSpec('other', { dirs: [etc, usr] }), undefined, 'another driver name has no spec');
  });

  it('a .json spec: TLSConfig means TLS for tcp://; a broken file is reported, not served', () => {
    const [etc] = dirs();
    put(etc, 'a.json', JSON.stringify({ Addr: 'tcp://127.0.0.1:23750', TLSConfig: { CAFile: '/x' } }));
    assert.deepEqual(findPluginSpec('a', { dirs: [etc] }), { path: join(etc, 'a.json'), addr: 'tcp://127.0.0.1:23750', tls: true });
    put(etc, 'b.json', '{');
    const broken = findPluginSpec('b', { dirs: [etc] })!;
    assert.ok('problem' in broken && /not JSON/.test(broken.problem));
    assert.ok('skip' in specListener(broken, false));
  });

  it('what is served: plain HTTP (http://, tcp://) without enable_ssl, HTTPS with it; a unix socket or a mismatch is not', () => {
    const at = (addr: string, tls = false) => ({ path: '/p', addr, tls });
    assert.deepEqual(specListener(at('http://127.0.0.1:23750'), false), { uri: 'http://127.0.0.1:23750', path: '/p' });
    assert.deepEqual(specListener(at('tcp://localhost:23750'), false), { uri: 'http://localhost:23750', path: '/p' });
    assert.deepEqual(specListener(at('http://[::1]:23750/ignored/path'), false), { uri: 'http://[::1]:23750', path: '/p' });
    assert.deepEqual(specListener(at('http://127.0.0.1'), false), { uri: 'http://127.0.0.1:80', path: '/p' });
    assert.deepEqual(specListener(at('https://127.0.0.1:23750'), true), { uri: 'https://127.0.0.1:23750', path: '/p' });
    assert.deepEqual(specListener(at('tcp://127.0.0.1:23750', true), true), { uri: 'https://127.0.0.1:23750', path: '/p' });
    assert.match((specListener(at('https://127.0.0.1:23750'), false) as { skip: string }).skip, /enable_ssl is off/);
    assert.match((specListener(at('http://127.0.0.1:23750'), true) as { skip: string }).skip, /enable_ssl is on/);
    assert.match((specListener(at('unix:///run/docker/plugins/kuryr.sock'), false) as { skip: string }).skip, /unix socket/);
    assert.match((specListener(at('tcp://127.0.0.1'), false) as { skip: string }).skip, /no host and port/);
    assert.match((specListener(at('127.0.0.1:23750'), false) as { skip: string }).skip, /does not speak|not a URL/);
  });

  it('kuryr_uri wins; without it a spec file for this driver is served and says why, under the same rules', async () => {
    const [etc, usr] = dirs();
    assert.deepEqual(addressToServe(undefined, false, 'kuryr', { dirs: [etc, usr] }), { uri: undefined }, 'no spec file: the socket alone');
    const path = put(usr, 'kuryr/kuryr.spec', 'http://127.0.0.1:23750\n');
    assert.deepEqual(addressToServe('http://127.0.0.1:9999', false, 'kuryr', { dirs: [etc, usr] }), { uri: 'http://127.0.0.1:9999' });
    const choice = addressToServe(undefined, false, 'kuryr', { dirs: [etc, usr] });
    assert.equal(choice.uri, 'http://127.0.0.1:23750');
    assert.match(choice.why!, new RegExp(`kuryr_uri is not set and Docker's spec file ${path} names this address`));
    assert.equal(addressToServe(undefined, false, 'kuryr2', { dirs: [etc, usr] }).uri, undefined, "another driver name's spec is not ours");
    const loopback = await assessKuryrUri({ kuryrUri: choice.uri, enableSsl: false, sslCaFile: undefined, insecureKuryrUri: false, source: choice.source });
    assert.equal(loopback.level, 'warn');
    assert.match((loopback as { message: string }).message, /^Docker's spec file .*kuryr\.spec \(http:\/\/127\.0\.0\.1:23750\): plain HTTP on loopback/);

    // A spec off loopback: refused as kuryr_uri would be, naming the file.
    put(etc, 'kuryr.spec', 'http://192.0.2.10:23750');
    const remote = addressToServe(undefined, false, 'kuryr', { dirs: [etc, usr] });
    const verdict = await assessKuryrUri({ kuryrUri: remote.uri, enableSsl: false, sslCaFile: undefined, insecureKuryrUri: false, source: remote.source });
    assert.equal(verdict.level, 'refuse');
    assert.equal((verdict as { error: { code: string } }).error.code, 'KURYR_ERR_INSECURE_KURYR_URI');
    assert.match((verdict as { error: Error }).error.message, /spec file .*kuryr\.spec \(http:\/\/192\.0\.2\.10:23750\).*remove the spec file/);
    const allowed = await assessKuryrUri({ kuryrUri: remote.uri, enableSsl: false, sslCaFile: undefined, insecureKuryrUri: true, source: remote.source });
    assert.equal(allowed.level, 'warn', 'insecure_kuryr_uri allows it, as for kuryr_uri');

    put(etc, 'kuryr.spec', 'unix:///run/docker/plugins/kuryr.sock');
    const unix = addressToServe(undefined, false, 'kuryr', { dirs: [etc, usr] });
    assert.equal(unix.uri, undefined);
    assert.match(unix.skipped!, /is not served: it names a unix socket/);
  });
});
