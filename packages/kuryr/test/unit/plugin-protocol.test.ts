import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDriver } from '../harness.js';

describe('libnetwork wire protocol (Docker 20.10)', () => {
  it('answers the handshake and the no-argument calls with an empty body', async () => {
    const d = buildDriver();
    assert.deepEqual(await d.ok('Plugin.Activate'), { Implements: ['NetworkDriver', 'IpamDriver'] });
    assert.deepEqual(await d.ok('NetworkDriver.GetCapabilities'), { Scope: 'local', ConnectivityScope: 'local' });
    assert.deepEqual(await d.ok('IpamDriver.GetCapabilities'), { RequiresMACAddress: true, RequiresRequestReplay: false });
    assert.deepEqual(await d.ok('IpamDriver.GetDefaultAddressSpaces'), {
      LocalDefaultAddressSpace: 'no_address_space',
      GlobalDefaultAddressSpace: 'no_address_space',
    });
  });

  it('404 for unknown methods, with Err', async () => {
    const d = buildDriver();
    const res = await d.call('NetworkDriver.Frobnicate', {});
    assert.equal(res.status, 404);
    assert.match(String(res.json.Err), /unknown method/);
  });

  it('400 naming the problem for malformed JSON, empty bodies and schema violations', async () => {
    const d = buildDriver();
    const bad = await d.call('NetworkDriver.Join', undefined);
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.Err), /body is empty/);
    const ep = await d.call('NetworkDriver.CreateEndpoint', { NetworkID: 'nope', EndpointID: 'a'.repeat(64) });
    assert.equal(ep.status, 400);
    assert.match(String(ep.json.Err), /NetworkID/);
    assert.equal(ep.json.Error, ep.json.Err);
    const missing = await d.call('IpamDriver.ReleaseAddress', { PoolID: 'x' });
    assert.equal(missing.status, 400);
    assert.match(String(missing.json.Error), /Address/);
  });

  it('400 for a body that is not JSON', async () => {
    const d = buildDriver();
    const res = await d.callRaw('IpamDriver.RequestPool', '{"AddressSpace":');
    assert.equal(res.status, 400);
    assert.match(String(res.json.Error), /not valid JSON/);
    const notObject = await d.callRaw('IpamDriver.RequestPool', '"hello"');
    assert.equal(notObject.status, 400);
  });

  it('never answers 404 to ProgramExternalConnectivity failures (Docker would read success)', async () => {
    const { statusFor } = await import('../../src/protocol/plugin-server.js');
    const { NotFoundError } = await import('@kuryr-ts/openstack/errors');
    assert.equal(statusFor(new NotFoundError('x'), 'NetworkDriver.ProgramExternalConnectivity'), 500);
    assert.equal(statusFor(new NotFoundError('x'), 'NetworkDriver.Join'), 404);
  });

  it('refuses IPAM pools with host bits set, naming the fix', async () => {
    const d = buildDriver();
    const res = await d.call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.9.0.5/24', SubPool: '', Options: {}, V6: false });
    assert.equal(res.status, 400);
    assert.match(String(res.json.Error), /host bits set \(did you mean 10\.9\.0\.0\/24\?\)/);
  });
});
