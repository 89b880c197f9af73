import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildConfig } from '../../src/config/kuryr-config.js';
import { parseIni } from '@kuryr-ts/openstack/config/ini';

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
  });

  it('fails on unknown or invalid options, naming them', () => {
    assert.throws(() => conf('[neutron]\nenable_dhpc = true\n'), /unknown option \[neutron\] enable_dhpc/);
    assert.throws(() => conf('[DEFAULT]\ncapability_scope = galactic\n'), /invalid value for \[DEFAULT\] capability_scope/);
    assert.throws(() => conf('[neutron]\nvif_plugging_timeout = soon\n'), /not an integer/);
    assert.throws(() => conf('[DEFAULT]\nnonsense line\n'), /cannot parse line/);
  });

  it('ignores other services\' sections', () => {
    assert.doesNotThrow(() => conf('[keystone_authtoken]\nwhatever = 1\n'));
  });
});
