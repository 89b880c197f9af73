/** IpamDriver.* handlers: wire request → domain call → wire reply. */
import type { IpamService } from '../../domain/ipam-service.js';
import { addressSpacesResponse, ipamCapabilitiesResponse } from './convert.js';
import { routeTable, type RouteTable } from './route-table.js';

export function ipamRoutes(ipam: IpamService): RouteTable {
  return routeTable({
    'IpamDriver.GetCapabilities': async () => ipamCapabilitiesResponse(ipam.capabilities()),
    'IpamDriver.GetDefaultAddressSpaces': async () => addressSpacesResponse(ipam.addressSpaces()),
    'IpamDriver.RequestPool': async (req) => {
      const res = await ipam.requestPool({
        addressSpace: req.AddressSpace,
        pool: req.Pool ?? '',
        subPool: req.SubPool ?? '',
        options: req.Options ?? {},
        v6: req.V6 === true,
      });
      return { PoolID: res.poolId, Pool: res.pool, Data: {} };
    },
    'IpamDriver.ReleasePool': async (req) => {
      await ipam.releasePool({ poolId: req.PoolID });
      return {};
    },
    'IpamDriver.RequestAddress': async (req) => {
      const res = await ipam.requestAddress({ poolId: req.PoolID, address: req.Address ?? '', options: req.Options ?? {} });
      return { Address: res.address, Data: {} };
    },
    'IpamDriver.ReleaseAddress': async (req) => {
      await ipam.releaseAddress({ poolId: req.PoolID, address: req.Address });
      return {};
    },
  });
}
