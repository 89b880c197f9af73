/**
 * Wire shapes ↔ domain values. Requests come in PascalCase as Docker sends
 * them; the domain answers in its own terms and these functions write the
 * replies exactly as Docker reads them (field order included).
 */
import { BadRequestError } from '@kuryr-ts/openstack/errors';
import { parseCidr } from '@kuryr-ts/openstack/lib/cidr';
import type { JoinResult } from '../../domain/endpoint-service.js';
import type { IpamData } from '../../domain/network-service.js';
import type { IPAMData, JoinResponse, ResponseOf } from './wire.js';
import { GENERIC_OPTIONS } from './wire-options.js';

/** CreateNetwork's IPv4Data/IPv6Data: the CIDRs are checked here, with the field they came in. */
export function toIpamData(field: string, items: IPAMData[] | null | undefined): IpamData[] {
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

/** The `-o k=v` pairs of a network (CreateNetwork's and GwAllocCheck's Options). */
export function genericOptions(options: Record<string, unknown> | null | undefined): Record<string, string> {
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

export function joinResponse(r: JoinResult): JoinResponse {
  return {
    InterfaceName: { SrcName: r.interfaceName.srcName, DstPrefix: r.interfaceName.dstPrefix },
    Gateway: r.gateway,
    GatewayIPv6: r.gatewayIpv6,
    StaticRoutes: r.staticRoutes.map((route) => ({
      Destination: route.destination,
      RouteType: route.type === 'connected' ? 1 : 0,
      ...(route.nextHop !== undefined ? { NextHop: route.nextHop } : {}),
    })),
    DisableGatewayService: r.disableGatewayService,
  };
}

export function gwAllocCheckResponse(r: { skipV4: boolean; skipV6: boolean }): ResponseOf<'NetworkDriver.GwAllocCheck'> {
  return { SkipIPv4: r.skipV4, SkipIPv6: r.skipV6 };
}

export function ipamCapabilitiesResponse(c: { requiresMacAddress: boolean; requiresRequestReplay: boolean }): ResponseOf<'IpamDriver.GetCapabilities'> {
  return { RequiresMACAddress: c.requiresMacAddress, RequiresRequestReplay: c.requiresRequestReplay };
}

export function addressSpacesResponse(s: { local: string; global: string }): ResponseOf<'IpamDriver.GetDefaultAddressSpaces'> {
  return { LocalDefaultAddressSpace: s.local, GlobalDefaultAddressSpace: s.global };
}
