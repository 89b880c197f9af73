/**
 * libnetwork remote driver wire types (Docker 20.10), field names exactly as
 * on the wire. Network-driver replies report failure in `Err`, IPAM replies
 * in `Error`; the plugin server sends both with a non-200 status.
 */

export interface IPAMDataWire {
  AddressSpace: string;
  Pool: string;
  Gateway?: string;
  AuxAddresses?: Record<string, string> | null;
}

export interface CreateNetworkRequest {
  NetworkID: string;
  Options?: Record<string, unknown> | null;
  IPv4Data: IPAMDataWire[] | null;
  IPv6Data?: IPAMDataWire[] | null;
}

export interface NetworkIdRequest {
  NetworkID: string;
}

export interface EndpointRequest {
  NetworkID: string;
  EndpointID: string;
}

export interface CreateEndpointRequest extends EndpointRequest {
  Options?: Record<string, unknown> | null;
  Interface?: { Address?: string; AddressIPv6?: string; MacAddress?: string } | null;
}

export interface JoinRequest extends EndpointRequest {
  SandboxKey: string;
  Options?: Record<string, unknown> | null;
}

export interface RequestPoolRequest {
  AddressSpace: string;
  Pool?: string;
  SubPool?: string;
  Options?: Record<string, string> | null;
  V6?: boolean;
}

export interface RequestAddressRequest {
  PoolID: string;
  Address?: string;
  Options?: Record<string, string> | null;
}

export interface ReleaseAddressRequest {
  PoolID: string;
  Address: string;
}

export interface ReleasePoolRequest {
  PoolID: string;
}

export const GENERIC_OPTIONS = 'com.docker.network.generic';
export const ENABLE_IPV6 = 'com.docker.network.enable_ipv6';
