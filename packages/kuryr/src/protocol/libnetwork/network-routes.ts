/**
 * NetworkDriver.* handlers: wire request → domain call → wire reply.
 * No business logic here.
 */
import type { EndpointService } from '../../domain/endpoint-service.js';
import type { ExposureService } from '../../domain/exposure-service.js';
import type { NetworkService } from '../../domain/network-service.js';
import type { DriverSettings } from '../../domain/settings.js';
import { genericOptions, gwAllocCheckResponse, joinResponse, toIpamData } from './convert.js';
import { routeTable, type RouteTable } from './route-table.js';
import { ENABLE_IPV6 } from './wire-options.js';

export function networkRoutes(
  networks: NetworkService,
  endpoints: EndpointService,
  exposure: ExposureService,
  settings: DriverSettings,
): RouteTable {
  return routeTable({
    'NetworkDriver.GetCapabilities': async () => ({
      Scope: settings.capabilityScope,
      ConnectivityScope: settings.capabilityScope,
      GwAllocChecker: true,
    }),
    'NetworkDriver.GwAllocCheck': async (req) => gwAllocCheckResponse(await networks.gatewaySkips(genericOptions(req.Options))),
    'NetworkDriver.CreateNetwork': async (req) => {
      await networks.createNetwork({
        networkId: req.NetworkID,
        generic: genericOptions(req.Options),
        enableIpv6: req.Options?.[ENABLE_IPV6] === true,
        ipv4Data: toIpamData('IPv4Data', req.IPv4Data),
        ipv6Data: toIpamData('IPv6Data', req.IPv6Data),
      });
      return {};
    },
    'NetworkDriver.DeleteNetwork': async (req) => {
      await networks.deleteNetwork(req.NetworkID);
      return {};
    },
    'NetworkDriver.CreateEndpoint': async (req) => {
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
    'NetworkDriver.EndpointOperInfo': async () => ({ Value: {} }),
    'NetworkDriver.DeleteEndpoint': async (req) => {
      await exposure.revokeIfKnown(req.EndpointID);
      await endpoints.deleteEndpoint({ networkId: req.NetworkID, endpointId: req.EndpointID });
      return {};
    },
    'NetworkDriver.Join': async (req) =>
      joinResponse(await endpoints.join({ networkId: req.NetworkID, endpointId: req.EndpointID, sandboxKey: req.SandboxKey })),
    'NetworkDriver.Leave': async () => ({}),
    'NetworkDriver.ProgramExternalConnectivity': async (req) => {
      await exposure.program({ endpointId: req.EndpointID, options: req.Options ?? {} });
      return {};
    },
    'NetworkDriver.RevokeExternalConnectivity': async (req) => {
      await exposure.revoke({ endpointId: req.EndpointID });
      return {};
    },
    'NetworkDriver.DiscoverNew': async () => ({}),
    'NetworkDriver.DiscoverDelete': async () => ({}),
    'NetworkDriver.AllocateNetwork': async () => ({ Options: {} }),
    'NetworkDriver.FreeNetwork': async () => ({}),
  });
}
