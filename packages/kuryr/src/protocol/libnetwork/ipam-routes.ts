/** IpamDriver.* handlers: wire request → domain call → wire reply. */
import type { IpamService } from '../../domain/ipam-service.js';
import type { RouteTable } from './route-table.js';
import type { ReleaseAddressRequest, ReleasePoolRequest, RequestAddressRequest, RequestPoolRequest } from './wire.js';

export function ipamRoutes(ipam: IpamService): RouteTable {
  return {
    'IpamDriver.GetCapabilities': { noArgs: true, handle: async () => ipam.capabilities() },
    'IpamDriver.GetDefaultAddressSpaces': { noArgs: true, handle: async () => ipam.addressSpaces() },
    'IpamDriver.RequestPool': {
      handle: async (body) => {
        const req = body as RequestPoolRequest;
        const res = await ipam.requestPool({
          addressSpace: req.AddressSpace,
          pool: req.Pool ?? '',
          subPool: req.SubPool ?? '',
          options: req.Options ?? {},
          v6: req.V6 === true,
        });
        return { PoolID: res.poolId, Pool: res.pool, Data: {} };
      },
    },
    'IpamDriver.ReleasePool': {
      handle: async (body) => {
        await ipam.releasePool({ poolId: (body as ReleasePoolRequest).PoolID });
        return {};
      },
    },
    'IpamDriver.RequestAddress': {
      handle: async (body) => {
        const req = body as RequestAddressRequest;
        const res = await ipam.requestAddress({ poolId: req.PoolID, address: req.Address ?? '', options: req.Options ?? {} });
        return { Address: res.address, Data: {} };
      },
    },
    'IpamDriver.ReleaseAddress': {
      handle: async (body) => {
        const req = body as ReleaseAddressRequest;
        await ipam.releaseAddress({ poolId: req.PoolID, address: req.Address });
        return {};
      },
    },
  };
}
