/** Kuryr's veth naming: `tap` / `t_c` + the first 11 characters of the port id (14 chars, under IFNAMSIZ). */
export function vethNames(portId: string): { host: string; container: string } {
  const short = portId.slice(0, 11);
  return { host: `tap${short}`, container: `t_c${short}` };
}

/** The port id prefix a veth host end (`tap<port[:11]>`) carries. */
export function portIdOfHostEnd(hostName: string): string {
  return hostName.slice('tap'.length);
}

export const ENDPOINT_ALIAS_PREFIX = 'kuryr:';

/** IFLA_IFALIAS of an endpoint's veth host end: finds it even when Neutron has lost the port. */
export const endpointAlias = (endpointId: string): string => `${ENDPOINT_ALIAS_PREFIX}${endpointId}`;
