import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, loadConfig } from '../../src/config/kuryr-config.js';
import { configFiles, localFs, type ConfigSearch, type ConfigSource } from '../../src/config/config-files.js';
import { parseIni } from '@kuryr-ts/openstack/config/ini';
import { ConfigError } from '@kuryr-ts/openstack/errors';

const conf = (text: string) => buildConfig(parseIni(text, 'kuryr.conf'), {});

describe('kuryr.conf', () => {
  it('reads an existing Kuryr-libnetwork config unchanged', () => {
    const c = conf(`
[DEFAULT]
bindir = /usr/local/libexec/kuryr
kuryr_uri = http://127.0.0.1:23750
capability_scope = local
debug = True
use_syslog = false

[neutron]
auth_url = http://127.0.0.1/identity
username = admin
user_domain_name = Default
password = secret
project_name = service
project_domain_name = Default
auth_type = password
enable_dhcp = False
vif_plugging_is_fatal = true
vif_plugging_timeout = 30

[binding]
driver = kuryr.lib.binding.drivers.veth
enabled_drivers = kuryr.lib.binding.drivers.veth,
  kuryr.lib.binding.drivers.macvlan
`);
    assert.equal(c.kuryrUri, 'http://127.0.0.1:23750');
    assert.equal(c.debug, true);
    assert.equal(c.neutron.enableDhcp, false);
    assert.equal(c.neutron.vifPluggingTimeout, 30);
    assert.equal(c.binding.defaultDriver, 'kuryr.lib.binding.drivers.veth', 'deprecated name "driver"');
    assert.deepEqual(c.binding.enabledDrivers, ['kuryr.lib.binding.drivers.veth', 'kuryr.lib.binding.drivers.macvlan']);
    assert.ok(c.ignoredOptions.includes('[DEFAULT] bindir'));
    assert.equal(c.neutron.auth.password, 'secret');
  });

  it('defaults as Kuryr', () => {
    const c = conf('');
    assert.equal(c.capabilityScope, 'local');
    assert.equal(c.localDefaultAddressSpace, 'no_address_space');
    assert.equal(c.subnetpoolNamePrefix, 'kuryrPool');
    assert.equal(c.binding.vethDstPrefix, 'eth');
    assert.equal(c.neutron.defaultSubnetpoolV4, 'kuryr');
    assert.equal(c.pluginSocket, '/run/docker/plugins/kuryr.sock');
    assert.equal(c.ipRangeAsAllocationPool, false, "--ip-range is the subnet, as in Kuryr");
    assert.equal(conf('[DEFAULT]\nip_range_as_allocation_pool = True\n').ipRangeAsAllocationPool, true);
  });

  it('fails on invalid values of known options, with a coded error naming the option and where it was set', () => {
    const fails = (text: string, re: RegExp) =>
      assert.throws(
        () => conf(text),
        (err: unknown) => err instanceof ConfigError && err.code === 'KURYR_ERR_CONFIG' && re.test(err.message),
      );
    fails('[DEFAULT]\ncapability_scope = galactic\n', /invalid value for \[DEFAULT\] capability_scope \(kuryr\.conf:2\)/);
    fails('[neutron]\nvif_plugging_timeout = soon\n', /\[neutron\] vif_plugging_timeout \(kuryr\.conf:2\).*not an integer/);
    fails('[DEFAULT]\ndebug = maybe\n', /\[DEFAULT\] debug .*not a boolean/);
    fails('\n[vif_pool]\nports_pool_min = -1\n', /invalid value for \[vif_pool\] ports_pool_min \(kuryr\.conf:3\): -1 is negative/);
    fails('[DEFAULT]\nnonsense line\n', /kuryr\.conf:2: cannot parse line/);
  });

  it('warns about, and ignores, options it does not know (as oslo.config), naming file, section and option', () => {
    const c = conf('[DEFAULT]\nstate_path = /var/lib/kuryr\ndebug = true\n[neutron]\nenable_dhpc = true\n');
    assert.equal(c.debug, true);
    assert.equal(c.neutron.enableDhcp, true, 'the misspelt option has no effect');
    assert.deepEqual(
      c.warnings.map(({ file, line, section, option }) => ({ file, line, section, option })),
      [
        { file: 'kuryr.conf', line: 2, section: 'DEFAULT', option: 'state_path' },
        { file: 'kuryr.conf', line: 5, section: 'neutron', option: 'enable_dhpc' },
      ],
    );
    assert.match(c.warnings[0]!.message, /unknown option \[DEFAULT\] state_path at kuryr\.conf:2, ignored/);
  });

  it('warns once per section it does not know, naming its options but never their values', () => {
    const c = conf('[keystone_authtoken]\npassword = s3cret\nauth_url = http://ks\n[oslo_concurrency]\nlock_path = /var/lock/kuryr\n');
    assert.deepEqual(
      c.warnings.map((w) => w.message),
      ['unknown section [keystone_authtoken] in kuryr.conf, ignored (options password, auth_url)', 'unknown section [oslo_concurrency] in kuryr.conf, ignored (options lock_path)'],
    );
    assert.doesNotMatch(JSON.stringify(c.warnings), /s3cret/);
  });
});

describe('kuryr.conf files (oslo.config order)', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const tmp = (): string => (dirs.push(mkdtempSync(join(tmpdir(), 'kuryr-conf-'))), dirs.at(-1)!);
  const write = (path: string, text: string): string => (writeFileSync(path, text), path);
  const search = (over: Partial<ConfigSearch> = {}): ConfigSearch => ({ prog: 'kuryr', home: undefined, cwd: '/', fs: localFs, ...over });

  it('later files win, option by option; warnings name the file that set the unknown option', () => {
    const d = tmp();
    const a = write(join(d, 'a.conf'), '[DEFAULT]\nsubnetpool_name_prefix = fromA\ncapability_scope = global\n');
    const b = write(join(d, 'b.conf'), '[DEFAULT]\nsubnetpool_name_prefix = fromB\nstate_path = /x\n');
    const c = loadConfig([a, b], {});
    assert.equal(c.subnetpoolNamePrefix, 'fromB');
    assert.equal(c.capabilityScope, 'global', 'kept from the earlier file');
    assert.deepEqual(c.files, [a, b]);
    assert.equal(c.warnings[0]?.file, b);
    assert.equal(loadConfig([b, a], {}).subnetpoolNamePrefix, 'fromA');
  });

  it('--config-dir: the *.conf files of the directory in name order (not hidden ones, not other suffixes)', () => {
    const d = tmp();
    const dir = join(d, 'kuryr.conf.d');
    mkdirSync(dir);
    for (const name of ['20-b.conf', '10-a.conf', 'B.conf', '.hidden.conf', 'notes.txt', '30-c.conf.orig']) write(join(dir, name), '[DEFAULT]\n');
    mkdirSync(join(dir, '15-dir.conf'));
    assert.deepEqual(configFiles([{ kind: 'dir', path: dir }], search()), ['10-a.conf', '20-b.conf', 'B.conf'].map((n) => join(dir, n)));
  });

  it('--config-file and --config-dir count in command-line order: each overrides what came before it', () => {
    const d = tmp();
    const dir = join(d, 'conf.d');
    mkdirSync(dir);
    write(join(dir, '10.conf'), '[DEFAULT]\nsubnetpool_name_prefix = dir10\n');
    write(join(dir, '20.conf'), '[DEFAULT]\nsubnetpool_name_prefix = dir20\n');
    const main = write(join(d, 'main.conf'), '[DEFAULT]\nsubnetpool_name_prefix = main\n');
    const last = write(join(d, 'last.conf'), '[DEFAULT]\nsubnetpool_name_prefix = last\n');
    const prefix = (sources: ConfigSource[]) => loadConfig(configFiles(sources, search()), {}).subnetpoolNamePrefix;
    assert.equal(prefix([{ kind: 'file', path: main }, { kind: 'dir', path: dir }]), 'dir20', 'the directory after the file wins');
    assert.equal(prefix([{ kind: 'dir', path: dir }, { kind: 'file', path: main }]), 'main', 'a file after the directory wins');
    assert.equal(prefix([{ kind: 'file', path: main }, { kind: 'dir', path: dir }, { kind: 'file', path: last }]), 'last');
  });

  it('relative paths and ~ are resolved against the cwd and home; a missing --config-dir is a config error', () => {
    const d = tmp();
    mkdirSync(join(d, 'etc'));
    assert.deepEqual(configFiles([{ kind: 'file', path: 'etc/k.conf' }, { kind: 'file', path: '~/h.conf' }], search({ cwd: d, home: '/home/op' })), [
      join(d, 'etc/k.conf'),
      '/home/op/h.conf',
    ]);
    assert.throws(
      () => configFiles([{ kind: 'dir', path: 'nosuch.d' }], search({ cwd: d })),
      (err: unknown) => err instanceof ConfigError && /cannot read config directory .*nosuch\.d/.test(err.message),
    );
    assert.throws(() => loadConfig([join(d, 'missing.conf')], {}), /cannot read config file .*missing\.conf/);
  });

  it("without flags: oslo's default file and directory (~/.kuryr, ~, /etc/kuryr, /etc), the directory read after the file", () => {
    const home = tmp();
    mkdirSync(join(home, '.kuryr'));
    const dotConf = write(join(home, '.kuryr', 'kuryr.conf'), '[DEFAULT]\n');
    write(join(home, 'kuryr.conf'), '[DEFAULT]\n'); // shadowed by ~/.kuryr/kuryr.conf
    mkdirSync(join(home, 'kuryr.conf.d'));
    const dirConf = write(join(home, 'kuryr.conf.d', 'x.conf'), '[DEFAULT]\n');
    assert.deepEqual(configFiles([], search({ home })), [dotConf, dirConf]);
    // a --config-file replaces the default file, not the default directory (read first, as oslo.config does)
    const given = write(join(home, 'given.conf'), '[DEFAULT]\n');
    assert.deepEqual(configFiles([{ kind: 'file', path: given }], search({ home })), [dirConf, given]);
    assert.deepEqual(configFiles([{ kind: 'file', path: given }, { kind: 'dir', path: join(home, '.kuryr') }], search({ home })), [given, dotConf]);
    // kuryr-server also looks for kuryr-server.conf, after kuryr.conf
    const serverConf = write(join(home, 'kuryr-server.conf'), '[DEFAULT]\n');
    assert.deepEqual(configFiles([], search({ home, prog: 'kuryr-server' })), [dotConf, serverConf, dirConf]);
  });

  it('no config file at all: the defaults, with a warning', () => {
    const c = loadConfig([], {});
    assert.equal(c.capabilityScope, 'local');
    assert.match(c.warnings[0]?.message ?? '', /no config file found/);
  });
});
