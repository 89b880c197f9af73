/**
 * NetworkDriver.* handlers: wire request → domain call → wire reply.
 * No business logic here.
 */
import { BadRequestError } from '@kuryr-ts/openstack/errors';
import type { EndpointService } from '../../domain/endpoint-service.js';
import type { ExposureService } from '../../domain/exposure-service.js';
import type { IpamData, NetworkService } from '../../domain/network-service.js';
import type { DriverSettings } from '../../domain/settings.js';
import { parseCidr } from '@kuryr-ts/openstack/lib/cidr';
import type { RouteTable } from './route-table.js';
import {
  ENABLE_IPV6,
  GENERIC_OPTIONS,
  type CreateEndpointRequest,
  type CreateNetworkRequest,
  type EndpointRequest,
  type IPAMDataWire,
  type JoinRequest,
  type NetworkIdRequest,
} from './wire.js';

function toIpamData(field: string, items: IPAMDataWire[] | null | undefined): IpamData[] {
  return (items ?? []).map((d, i) => {
    for (const [name, value] of [
      ['Pool', d.Pool],
      ['Gateway', d.Gateway],
    ] as const) {
      if (!value) continue;
      try {
        parseCidr(value);
      } catch (err) {
        throw new BadRequestError(`${field}[${i}].${name}: ${(err as Error).message}`);
      }
    }
    const out: IpamData = { addressSpace: d.AddressSpace, pool: d.Pool };
    if (d.Gateway) out.gateway = d.Gateway;
    if (d.AuxAddresses) out.auxAddresses = d.AuxAddresses;
    return out;
  });
}

function genericOptions(options: Record<string, unknown> | null | undefined): Record<string, string> {
  const generic = options?.[GENERIC_OPTIONS];
  if (generic === undefined || generic === null) return {};
  if (typeof generic !== 'object' || Array.isArray(generic)) {
    throw new BadRequestError(`Options["${GENERIC_OPTIONS}"] must be an object`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(generic)) {
    if (typeof v !== 'string') throw new BadRequestError(`option -o ${k} must be a string`);
    out[k] = v;
  }
  return out;
}

export function networkRoutes(
  networks: NetworkService,
  endpoints: EndpointService,
  exposure: ExposureService,
  settings: DriverSettings,
): RouteTable {
  return {
    'NetworkDriver.GetCapabilities': {
      noArgs: true,
      handle: async () => ({ Scope: settings.capabilityScope, ConnectivityScope: settings.capabilityScope }),
    },
    'NetworkDriver.CreateNetwork': {
      handle: async (body) => {
        const req = body as CreateNetworkRequest;
        await networks.createNetwork({
          networkId: req.NetworkID,
          generic: genericOptions(req.Options),
          enableIpv6: req.Options?.[ENABLE_IPV6] === true,
          ipv4Data: toIpamData('IPv4Data', req.IPv4Data),
          ipv6Data: toIpamData('IPv6Data', req.IPv6Data),
        });
        return {};
      },
    },
    'NetworkDriver.DeleteNetwork': {
      handle: async (body) => {
        await networks.deleteNetwork((body as NetworkIdRequest).NetworkID);
        return {};
      },
    },
    'NetworkDriver.CreateEndpoint': {
      handle: async (body) => {
        const req = body as CreateEndpointRequest;
        const result = await endpoints.createEndpoint({
          networkId: req.NetworkID,
          endpointId: req.EndpointID,
          address: req.Interface?.Address ?? '',
          addressIPv6: req.Interface?.AddressIPv6 ?? '',
          macAddress: req.Interface?.MacAddress ?? '',
          options: req.Options ?? {},
        });
        return result.macAddress ? { Interface: { MacAddress: result.macAddress } } : {};
      },
    },
    'NetworkDriver.EndpointOperInfo': { handle: async () => ({ Value: {} }) },
    'NetworkDriver.DeleteEndpoint': {
      handle: async (body) => {
        const req = body as EndpointRequest;
        await exposure.revokeIfKnown(req.EndpointID);
        await endpoints.deleteEndpoint({ networkId: req.NetworkID, endpointId: req.EndpointID });
        return {};
      },
    },
    'NetworkDriver.Join': {
      handle: async (body) => {
        const req = body as JoinRequest;
        return endpoints.join({ networkId: req.NetworkID, endpointId: req.EndpointID, sandboxKey: req.SandboxKey });
      },
    },
    'NetworkDriver.Leave': { handle: async () => ({}) },
    'NetworkDriver.ProgramExternalConnectivity': {
      handle: async (body) => {
        const req = body as JoinRequest;
        await exposure.program({ endpointId: req.EndpointID, options: req.Options ?? {} });
        return {};
      },
    },
    'NetworkDriver.RevokeExternalConnectivity': {
      handle: async (body) => {
        await exposure.revoke({ endpointId: (body as EndpointRequest).EndpointID });
        return {};
      },
    },
    'NetworkDriver.DiscoverNew': { handle: async () => ({}) },
    'NetworkDriver.DiscoverDelete': { handle: async () => ({}) },
    'NetworkDriver.AllocateNetwork': { handle: async () => ({ Options: {} }) },
    'NetworkDriver.FreeNetwork': { handle: async () => ({}) },
  };
}
