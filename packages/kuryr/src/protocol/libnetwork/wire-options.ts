/** Option keys Docker sends in libnetwork requests (wire.ts declares the requests). */
export const GENERIC_OPTIONS = 'com.docker.network.generic';
export const ENABLE_IPV6 = 'com.docker.network.enable_ipv6';
