import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { methods, type Method } from '../../src/protocol/libnetwork/wire.js';
import { REQUEST_SCHEMAS } from '../../src/protocol/libnetwork/wire-schemas.js';
import { buildDriver, dockerId } from '../harness.js';

describe('libnetwork wire protocol (Docker 20.10)', () => {
  it('answers the handshake and the no-argument calls with an empty body', async () => {
    const d = buildDriver();
    assert.deepEqual(await d.ok('Plugin.Activate'), { Implements: ['NetworkDriver', 'IpamDriver'] });
    assert.deepEqual(await d.ok('NetworkDriver.GetCapabilities'), { Scope: 'local', ConnectivityScope: 'local', GwAllocChecker: true });
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

  it('413 with Err and Error for a body over the 1 MiB limit (a client error, not the driver failing)', async () => {
    const d = buildDriver();
    const res = await d.callRaw('NetworkDriver.Join', `{"Pad":"${'x'.repeat(1024 * 1024)}"}`);
    assert.equal(res.status, 413);
    assert.match(String(res.json.Err), /NetworkDriver\.Join: .*too large/);
    assert.equal(res.json.Error, res.json.Err);
  });

  it('never answers 404 to ProgramExternalConnectivity failures (Docker would read success)', async () => {
    const { statusFor } = await import('../../src/protocol/plugin-server.js');
    const { NotFoundError } = await import('@kuryr-ts/openstack/errors');
    assert.equal(statusFor(new NotFoundError('x'), 'NetworkDriver.ProgramExternalConnectivity'), 500);
    assert.equal(statusFor(new NotFoundError('x'), 'NetworkDriver.Join'), 404);
  });

  it('writes the replies byte for byte as Docker has always been sent them (field order included)', async () => {
    const d = buildDriver();
    const n = await d.neutron.create('networks', { name: 'routes' });
    const s = await d.neutron.create('subnets', {
      network_id: n.id,
      cidr: '10.150.0.0/24',
      ip_version: 4,
      gateway_ip: '10.150.0.1',
      host_routes: [{ destination: '192.0.2.0/24', nexthop: '10.150.0.254' }],
    });
    const networkId = dockerId();
    const pool = await d.ok('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.150.0.0/24', SubPool: '', Options: { 'neutron.subnet.uuid': s.id }, V6: false });
    assert.equal(JSON.stringify(pool), `{"PoolID":"${String(pool.PoolID)}","Pool":"10.150.0.0/24","Data":{}}`);
    const gw = await d.ok('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    assert.equal(JSON.stringify(gw), '{"Address":"10.150.0.1/24","Data":{}}');
    await d.ok('NetworkDriver.CreateNetwork', {
      NetworkID: networkId,
      Options: { 'com.docker.network.generic': { 'neutron.net.uuid': n.id, 'neutron.subnet.uuid': s.id } },
      IPv4Data: [{ AddressSpace: 'x', Pool: '10.150.0.0/24', Gateway: gw.Address }],
      IPv6Data: [],
    });
    const ep = await d.attach({ networkId, poolId: String(pool.PoolID) });
    const srcName = (ep.join.InterfaceName as { SrcName: string }).SrcName;
    assert.equal(
      JSON.stringify(ep.join),
      `{"InterfaceName":{"SrcName":"${srcName}","DstPrefix":"eth"},"Gateway":"10.150.0.1","GatewayIPv6":"",` +
        '"StaticRoutes":[{"Destination":"192.0.2.0/24","RouteType":0,"NextHop":"10.150.0.254"}],"DisableGatewayService":true}',
    );
    assert.equal(JSON.stringify(await d.ok('IpamDriver.GetCapabilities')), '{"RequiresMACAddress":true,"RequiresRequestReplay":false}');
    assert.equal(
      JSON.stringify(await d.ok('IpamDriver.GetDefaultAddressSpaces')),
      '{"LocalDefaultAddressSpace":"no_address_space","GlobalDefaultAddressSpace":"no_address_space"}',
    );
  });

  it('every reply matches the reply schema its method declares', async () => {
    const d = buildDriver();
    const replies: Array<[Method, unknown]> = [];
    const call = async (method: Method, body?: unknown) => {
      const reply = await d.ok(method, body);
      replies.push([method, reply]);
      return reply;
    };
    for (const m of ['Plugin.Activate', 'NetworkDriver.GetCapabilities', 'IpamDriver.GetCapabilities', 'IpamDriver.GetDefaultAddressSpaces'] as const) await call(m);
    const networkId = dockerId();
    await call('NetworkDriver.GwAllocCheck', { Options: { 'com.docker.network.enable_ipv4': true, 'com.docker.network.generic': {} } });
    const pool = await call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.151.0.0/24', SubPool: '', Options: {}, V6: false });
    const gw = await call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    await call('NetworkDriver.CreateNetwork', { NetworkID: networkId, Options: {}, IPv4Data: [{ AddressSpace: 'x', Pool: pool.Pool, Gateway: gw.Address }], IPv6Data: [] });
    const endpointId = dockerId();
    const addr = await call('IpamDriver.RequestAddress', { PoolID: pool.PoolID, Address: '', Options: { 'com.docker.network.endpoint.macaddress': '02:42:0a:97:00:09' } });
    const ep = { NetworkID: networkId, EndpointID: endpointId };
    await call('NetworkDriver.CreateEndpoint', { ...ep, Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '02:42:0a:97:00:09' }, Options: {} });
    await call('NetworkDriver.Join', { ...ep, SandboxKey: '/var/run/docker/netns/1', Options: {} });
    await call('NetworkDriver.ProgramExternalConnectivity', { ...ep, Options: {} });
    await call('NetworkDriver.EndpointOperInfo', ep);
    await call('NetworkDriver.RevokeExternalConnectivity', ep);
    await call('NetworkDriver.Leave', ep);
    await call('NetworkDriver.DeleteEndpoint', ep);
    await call('IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: String(addr.Address).split('/')[0] });
    await call('NetworkDriver.DiscoverNew', { DiscoveryType: 1, DiscoveryData: { Address: '192.0.2.1', Self: true } });
    await call('NetworkDriver.DiscoverDelete', { DiscoveryType: 1 });
    await call('NetworkDriver.AllocateNetwork', { NetworkID: networkId, Options: null, IPv4Data: [], IPv6Data: null });
    await call('NetworkDriver.FreeNetwork', { NetworkID: networkId });
    await call('IpamDriver.ReleaseAddress', { PoolID: pool.PoolID, Address: String(gw.Address).split('/')[0] });
    await call('IpamDriver.ReleasePool', { PoolID: pool.PoolID });
    await call('NetworkDriver.DeleteNetwork', { NetworkID: networkId });
    assert.deepEqual(new Set(replies.map(([m]) => m)), new Set(Object.keys(methods)), 'every method was called');
    for (const [method, reply] of replies) assert.ok(Value.Check(methods[method].response, reply), `${method} reply ${JSON.stringify(reply)}`);
  });

  it('refuses IPAM pools with host bits set, naming the fix', async () => {
    const d = buildDriver();
    const res = await d.call('IpamDriver.RequestPool', { AddressSpace: 'x', Pool: '10.9.0.5/24', SubPool: '', Options: {}, V6: false });
    assert.equal(res.status, 400);
    assert.match(String(res.json.Error), /host bits set \(did you mean 10\.9\.0\.0\/24\?\)/);
  });

  it("validates against wire.ts's request schemas: wire-schemas.ts is generated from them (node scripts/wire-schemas.mjs)", () => {
    const declared = Object.fromEntries(
      Object.entries(methods)
        .filter(([, spec]) => 'request' in spec)
        .map(([method, spec]) => [method, JSON.parse(JSON.stringify((spec as { request: object }).request)) as object]),
    );
    assert.deepEqual(REQUEST_SCHEMAS, declared, 'wire.ts changed: run `npx tsc -b && node scripts/wire-schemas.mjs`');
  });
});
