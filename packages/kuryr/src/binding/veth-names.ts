/** Kuryr's veth naming: `tap` / `t_c` + the first 11 characters of the port id (14 chars, under IFNAMSIZ). */
export function vethNames(portId: string): { host: string; container: string } {
  const short = portId.slice(0, 11);
  return { host: `tap${short}`, container: `t_c${short}` };
}
