/**
 * JSON schemas of the libnetwork remote driver requests (Docker 20.10), used
 * by the plugin server to validate every body before a handler runs. Field
 * names are the wire's (PascalCase). Unknown fields are allowed, as Docker's
 * own decoder allows them.
 */
const id = { type: 'string', pattern: '^([0-9a-f]{64}|[0-9a-z]{25})$' } as const;
const stringMap = { type: ['object', 'null'], additionalProperties: { type: 'string' } } as const;
const ipamData = {
  type: 'object',
  required: ['AddressSpace', 'Pool'],
  properties: {
    AddressSpace: { type: 'string' },
    Pool: { type: 'string', minLength: 1 },
    Gateway: { type: 'string' },
    AuxAddresses: stringMap,
  },
} as const;
const netAndEndpoint = {
  type: 'object',
  required: ['NetworkID', 'EndpointID'],
  properties: { NetworkID: id, EndpointID: id },
} as const;

export const schemas = {
  'NetworkDriver.CreateNetwork': {
    type: 'object',
    required: ['NetworkID', 'IPv4Data'],
    properties: {
      NetworkID: id,
      Options: { type: ['object', 'null'] },
      IPv4Data: { type: ['array', 'null'], items: ipamData },
      IPv6Data: { type: ['array', 'null'], items: ipamData },
    },
  },
  'NetworkDriver.DeleteNetwork': { type: 'object', required: ['NetworkID'], properties: { NetworkID: id } },
  'NetworkDriver.CreateEndpoint': {
    type: 'object',
    required: ['NetworkID', 'EndpointID'],
    properties: {
      NetworkID: id,
      EndpointID: id,
      Options: { type: ['object', 'null'] },
      Interface: {
        type: ['object', 'null'],
        properties: {
          Address: { type: 'string' },
          AddressIPv6: { type: 'string' },
          MacAddress: { type: 'string', pattern: '^([0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5})?$' },
        },
      },
    },
  },
  'NetworkDriver.DeleteEndpoint': netAndEndpoint,
  'NetworkDriver.EndpointOperInfo': netAndEndpoint,
  'NetworkDriver.Join': {
    type: 'object',
    required: ['NetworkID', 'EndpointID', 'SandboxKey'],
    properties: { NetworkID: id, EndpointID: id, SandboxKey: { type: 'string', minLength: 1 }, Options: { type: ['object', 'null'] } },
  },
  'NetworkDriver.Leave': netAndEndpoint,
  'NetworkDriver.ProgramExternalConnectivity': {
    type: 'object',
    required: ['NetworkID', 'EndpointID'],
    properties: { NetworkID: id, EndpointID: id, Options: { type: ['object', 'null'] } },
  },
  'NetworkDriver.RevokeExternalConnectivity': netAndEndpoint,
  'NetworkDriver.DiscoverNew': { type: 'object', properties: { DiscoveryType: { type: 'integer' } } },
  'NetworkDriver.DiscoverDelete': { type: 'object', properties: { DiscoveryType: { type: 'integer' } } },
  'NetworkDriver.AllocateNetwork': { type: 'object', required: ['NetworkID'], properties: { NetworkID: id, Options: stringMap } },
  'NetworkDriver.FreeNetwork': { type: 'object', required: ['NetworkID'], properties: { NetworkID: id } },
  'IpamDriver.RequestPool': {
    type: 'object',
    required: ['AddressSpace'],
    properties: {
      AddressSpace: { type: 'string' },
      Pool: { type: 'string' },
      SubPool: { type: 'string' },
      Options: stringMap,
      V6: { type: 'boolean' },
    },
  },
  'IpamDriver.ReleasePool': { type: 'object', required: ['PoolID'], properties: { PoolID: { type: 'string', minLength: 1 } } },
  'IpamDriver.RequestAddress': {
    type: 'object',
    required: ['PoolID'],
    properties: { PoolID: { type: 'string', minLength: 1 }, Address: { type: 'string' }, Options: stringMap },
  },
  'IpamDriver.ReleaseAddress': {
    type: 'object',
    required: ['PoolID', 'Address'],
    properties: { PoolID: { type: 'string', minLength: 1 }, Address: { type: 'string', minLength: 1 } },
  },
} as const;

export type SchemaMethod = keyof typeof schemas;
