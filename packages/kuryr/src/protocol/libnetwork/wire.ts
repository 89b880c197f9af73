/**
 * The libnetwork remote driver protocol, declared once: every request and
 * reply of Plugin.Activate, NetworkDriver.* and IpamDriver.* as a TypeBox
 * schema. The plugin server validates request bodies against these schemas
 * (JSON Schema, ajv) and the handlers get their TypeScript types from the
 * same declarations (`Static`). Field names are the wire's (PascalCase).
 *
 * Requests are as Docker 20.10 through 29 send them. Unknown fields are
 * allowed, as Docker's own decoder allows them; Go sends a nil map or slice
 * as `null`, hence the nullable objects and arrays. Network-driver replies
 * report failure in `Err`, IPAM replies in `Error`; the plugin server sends
 * both with a non-200 status.
 */
import { Type, type Static, type TSchema } from 'typebox';

/**
 * `type: [T, "null"]` over an object or array: what Go writes for a nil
 * value. (Not a union: the validation messages stay those of `type`.)
 */
function OrNull<T extends TSchema & { type: 'object' | 'array' }>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
}

/** Docker's `map[string]interface{}`, possibly nil: its values are not looked at here. */
const AnyMap = Type.Unsafe<Record<string, unknown> | null>({ type: ['object', 'null'] });
/** Docker's `map[string]string`, possibly nil. */
const StringMap = Type.Unsafe<Record<string, string> | null>({ type: ['object', 'null'], additionalProperties: { type: 'string' } });
/** Docker ids: 64 hex digits (local), or 25 base-36 characters (Swarm). */
const Id = Type.String({ pattern: '^([0-9a-f]{64}|[0-9a-z]{25})$' });
const PoolId = Type.String({ minLength: 1 });
const Mac = Type.String({ pattern: '^([0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5})?$' });
/** `{}`: the reply of calls that only succeed or fail. */
const Empty = Type.Object({});

// ---- Plugin handshake -------------------------------------------------------

export const ActivateResponse = Type.Object({ Implements: Type.Array(Type.String()) });

/** Any failure, for both subsystems (1.5 of the protocol notes). */
export const ErrorResponse = Type.Object({ Err: Type.String(), Error: Type.String() });
export type ErrorResponse = Static<typeof ErrorResponse>;

// ---- NetworkDriver ----------------------------------------------------------

const Scope = Type.Union([Type.Literal('local'), Type.Literal('global')]);

export const NetworkCapabilitiesResponse = Type.Object({
  Scope,
  ConnectivityScope: Scope,
  /** Docker 28+: the driver answers GwAllocCheck (older Dockers ignore the field). */
  GwAllocChecker: Type.Boolean(),
});

/** One IPAM pool of a network, as the IPAM driver returned it (Pool, Gateway and aux addresses are CIDRs). */
export const IPAMData = Type.Object({
  AddressSpace: Type.String(),
  Pool: Type.String({ minLength: 1 }),
  Gateway: Type.Optional(Type.String()),
  AuxAddresses: Type.Optional(StringMap),
});
export type IPAMData = Static<typeof IPAMData>;

export const CreateNetworkRequest = Type.Object({
  NetworkID: Id,
  Options: Type.Optional(AnyMap),
  IPv4Data: OrNull(Type.Array(IPAMData)),
  IPv6Data: Type.Optional(OrNull(Type.Array(IPAMData))),
});

/** Docker 28+, before IPAM: the options CreateNetwork will get. */
export const GwAllocCheckRequest = Type.Object({ Options: Type.Optional(AnyMap) });
export const GwAllocCheckResponse = Type.Object({ SkipIPv4: Type.Boolean(), SkipIPv6: Type.Boolean() });

export const NetworkIdRequest = Type.Object({ NetworkID: Id });

export const EndpointRequest = Type.Object({ NetworkID: Id, EndpointID: Id });

export const CreateEndpointRequest = Type.Object({
  NetworkID: Id,
  EndpointID: Id,
  Options: Type.Optional(AnyMap),
  Interface: Type.Optional(
    OrNull(
      Type.Object({
        Address: Type.Optional(Type.String()),
        AddressIPv6: Type.Optional(Type.String()),
        MacAddress: Type.Optional(Mac),
      }),
    ),
  ),
});

/** Only fields Docker left empty may be filled (an echoed value is an error). */
export const CreateEndpointResponse = Type.Object({
  Interface: Type.Optional(
    Type.Object({
      Address: Type.Optional(Type.String()),
      AddressIPv6: Type.Optional(Type.String()),
      MacAddress: Type.Optional(Type.String()),
    }),
  ),
});

export const EndpointOperInfoResponse = Type.Object({ Value: Type.Record(Type.String(), Type.Unknown()) });

export const JoinRequest = Type.Object({
  NetworkID: Id,
  EndpointID: Id,
  SandboxKey: Type.String({ minLength: 1 }),
  Options: Type.Optional(AnyMap),
});

/** RouteType 0: through NextHop; 1: on-link (NextHop unused). */
export const StaticRoute = Type.Object({
  Destination: Type.String(),
  RouteType: Type.Union([Type.Literal(0), Type.Literal(1)]),
  NextHop: Type.Optional(Type.String()),
});

/** Gateways are plain IPs, not CIDRs. */
export const JoinResponse = Type.Object({
  InterfaceName: Type.Object({ SrcName: Type.String(), DstPrefix: Type.String() }),
  Gateway: Type.String(),
  GatewayIPv6: Type.String(),
  StaticRoutes: Type.Array(StaticRoute),
  DisableGatewayService: Type.Boolean(),
});
export type JoinResponse = Static<typeof JoinResponse>;

export const ProgramExternalConnectivityRequest = Type.Object({
  NetworkID: Id,
  EndpointID: Id,
  Options: Type.Optional(AnyMap),
});

export const DiscoveryRequest = Type.Object({ DiscoveryType: Type.Optional(Type.Integer()) });

export const AllocateNetworkRequest = Type.Object({ NetworkID: Id, Options: Type.Optional(StringMap) });
export const AllocateNetworkResponse = Type.Object({ Options: Type.Record(Type.String(), Type.String()) });

// ---- IpamDriver -------------------------------------------------------------

export const IpamCapabilitiesResponse = Type.Object({
  RequiresMACAddress: Type.Boolean(),
  RequiresRequestReplay: Type.Boolean(),
});

export const AddressSpacesResponse = Type.Object({
  LocalDefaultAddressSpace: Type.String(),
  GlobalDefaultAddressSpace: Type.String(),
});

export const RequestPoolRequest = Type.Object({
  AddressSpace: Type.String(),
  Pool: Type.Optional(Type.String()),
  SubPool: Type.Optional(Type.String()),
  Options: Type.Optional(StringMap),
  V6: Type.Optional(Type.Boolean()),
});
export const RequestPoolResponse = Type.Object({ PoolID: Type.String(), Pool: Type.String(), Data: Type.Record(Type.String(), Type.String()) });

export const ReleasePoolRequest = Type.Object({ PoolID: PoolId });

export const RequestAddressRequest = Type.Object({
  PoolID: PoolId,
  Address: Type.Optional(Type.String()),
  Options: Type.Optional(StringMap),
});
/** Address is a CIDR (its prefix becomes the container's). */
export const RequestAddressResponse = Type.Object({ Address: Type.String(), Data: Type.Record(Type.String(), Type.String()) });

export const ReleaseAddressRequest = Type.Object({ PoolID: PoolId, Address: Type.String({ minLength: 1 }) });

// ---- The methods --------------------------------------------------------------

/** Every method, its request (none: Docker sends an empty body) and its reply. */
export const methods = {
  'Plugin.Activate': { response: ActivateResponse },
  'NetworkDriver.GetCapabilities': { response: NetworkCapabilitiesResponse },
  'NetworkDriver.GwAllocCheck': { request: GwAllocCheckRequest, response: GwAllocCheckResponse },
  'NetworkDriver.CreateNetwork': { request: CreateNetworkRequest, response: Empty },
  'NetworkDriver.DeleteNetwork': { request: NetworkIdRequest, response: Empty },
  'NetworkDriver.CreateEndpoint': { request: CreateEndpointRequest, response: CreateEndpointResponse },
  'NetworkDriver.EndpointOperInfo': { request: EndpointRequest, response: EndpointOperInfoResponse },
  'NetworkDriver.DeleteEndpoint': { request: EndpointRequest, response: Empty },
  'NetworkDriver.Join': { request: JoinRequest, response: JoinResponse },
  'NetworkDriver.Leave': { request: EndpointRequest, response: Empty },
  'NetworkDriver.ProgramExternalConnectivity': { request: ProgramExternalConnectivityRequest, response: Empty },
  'NetworkDriver.RevokeExternalConnectivity': { request: EndpointRequest, response: Empty },
  'NetworkDriver.DiscoverNew': { request: DiscoveryRequest, response: Empty },
  'NetworkDriver.DiscoverDelete': { request: DiscoveryRequest, response: Empty },
  'NetworkDriver.AllocateNetwork': { request: AllocateNetworkRequest, response: AllocateNetworkResponse },
  'NetworkDriver.FreeNetwork': { request: NetworkIdRequest, response: Empty },
  'IpamDriver.GetCapabilities': { response: IpamCapabilitiesResponse },
  'IpamDriver.GetDefaultAddressSpaces': { response: AddressSpacesResponse },
  'IpamDriver.RequestPool': { request: RequestPoolRequest, response: RequestPoolResponse },
  'IpamDriver.ReleasePool': { request: ReleasePoolRequest, response: Empty },
  'IpamDriver.RequestAddress': { request: RequestAddressRequest, response: RequestAddressResponse },
  'IpamDriver.ReleaseAddress': { request: ReleaseAddressRequest, response: Empty },
} as const satisfies Record<string, { request?: TSchema; response: TSchema }>;

export type Method = keyof typeof methods;
type Spec<M extends Method> = (typeof methods)[M];
/** A method's request body as validated (`{}` for methods without arguments). */
export type RequestOf<M extends Method> = Spec<M> extends { request: infer S extends TSchema } ? Static<S> : Record<string, never>;
export type ResponseOf<M extends Method> = Static<Spec<M>['response']>;

// The daemon validates with the same schemas as plain JSON (wire-schemas.ts, generated from `methods`): it does not load TypeBox.
export { requestSchema } from './wire-schemas.js';
export { ENABLE_IPV6, GENERIC_OPTIONS } from './wire-options.js';
