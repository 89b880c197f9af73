/**
 * Seeded fuzzing of the plugin socket: requests as Docker never sends them.
 *
 *  - invalid: bodies that are not JSON, JSON cut short, a body of the wrong
 *    shape (array, string, null), a field of the wrong type, a Docker id of
 *    the wrong form, a required field missing, no body where one is needed,
 *    deep nesting, a body over the 1 MiB limit, unknown methods, verbs other
 *    than POST. Each must get a 4xx with `Err` and `Error` and reach no
 *    handler (no Neutron call, no Neutron object).
 *  - semantic: bodies the schema takes whose values the driver must refuse
 *    (a CIDR that is none, host bits, an address outside its pool, an
 *    unknown `-o` option): non-200 with `Err` and `Error`, nothing made.
 *  - unknown-id: well-formed calls naming networks, endpoints, pools and
 *    addresses that do not exist: 200 (idempotent deletes) or an error with
 *    `Err` and `Error`; nothing made.
 *  - cut-off: a request whose body stops before its Content-Length, the
 *    connection closed: no answer is due; the daemon must not keep anything.
 *  - flows: real sequences (pool, gateway, network, address, endpoint, join,
 *    external connectivity…) in a seeded wrong order, steps repeated or left
 *    out, then Docker's teardown calls: whatever the order did, nothing is
 *    left once the teardown ran.
 * No response may carry a JavaScript exception's text (a handler that
 * crashed instead of refusing).
 */
import { methods, type Method } from '@kuryr-ts/kuryr/protocol/libnetwork/wire';
import type { Rng } from './rng.js';

export type FuzzClass = 'invalid' | 'semantic' | 'unknown-id' | 'cut-off';

export interface FuzzRequest {
  cls: FuzzClass;
  /** what was done to the request (for the histogram and for replay) */
  mutation: string;
  /** the libnetwork method aimed at (or the path, for unknown methods) */
  method: string;
  verb: string;
  path: string;
  body: string;
}

export interface Reply {
  /** 0: the connection closed without an answer */
  status: number;
  body: string;
}

export const ALL_METHODS = Object.keys(methods) as Method[];
/** The body limit of the plugin server (fastify's bodyLimit). */
export const BODY_LIMIT = 1024 * 1024;

interface FieldSchema {
  type?: string | string[];
  pattern?: string;
  minLength?: number;
  properties?: Record<string, FieldSchema>;
  required?: string[];
}

function schemaOf(method: Method): FieldSchema | undefined {
  return (methods[method] as { request?: FieldSchema }).request;
}

const typesOf = (s: FieldSchema | undefined): string[] => (s?.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type]);

/** Docker-like values ------------------------------------------------------- */

const dockerId = (rng: Rng): string => rng.hex(64);
const uuid = (rng: Rng): string => `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-a${rng.hex(3)}-${rng.hex(12)}`;
const mac = (rng: Rng): string => `02:42:${[0, 0, 0, 0].map(() => rng.hex(2)).join(':')}`;

/** A well-formed body for each method, naming things that do not exist (10.250.x.y: a range no test network uses). */
export function wellFormed(method: Method, rng: Rng): Record<string, unknown> | undefined {
  const net = dockerId(rng);
  const ep = dockerId(rng);
  const third = rng.int(0, 255);
  const addr = `10.250.${third}.${rng.int(2, 250)}`;
  switch (method) {
    case 'NetworkDriver.GwAllocCheck':
      return { Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} } };
    case 'NetworkDriver.CreateNetwork':
      return {
        NetworkID: net,
        Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
        IPv4Data: [{ AddressSpace: '', Pool: `10.250.${third}.0/24`, Gateway: `10.250.${third}.1/24` }],
        IPv6Data: [],
      };
    case 'NetworkDriver.DeleteNetwork':
    case 'NetworkDriver.FreeNetwork':
      return { NetworkID: net };
    case 'NetworkDriver.CreateEndpoint':
      return { NetworkID: net, EndpointID: ep, Options: {}, Interface: { Address: `${addr}/24`, AddressIPv6: '', MacAddress: mac(rng) } };
    case 'NetworkDriver.EndpointOperInfo':
    case 'NetworkDriver.DeleteEndpoint':
    case 'NetworkDriver.Leave':
    case 'NetworkDriver.RevokeExternalConnectivity':
      return { NetworkID: net, EndpointID: ep };
    case 'NetworkDriver.Join':
      return { NetworkID: net, EndpointID: ep, SandboxKey: `/var/run/docker/netns/${rng.hex(12)}`, Options: {} };
    case 'NetworkDriver.ProgramExternalConnectivity':
      return { NetworkID: net, EndpointID: ep, Options: { 'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: rng.int(1, 65535) }] } };
    case 'NetworkDriver.DiscoverNew':
    case 'NetworkDriver.DiscoverDelete':
      return { DiscoveryType: 1, DiscoveryData: { Address: '127.0.0.1', self: true } };
    case 'NetworkDriver.AllocateNetwork':
      return { NetworkID: net, Options: {} };
    case 'IpamDriver.RequestPool':
      return { AddressSpace: '', Pool: `10.250.${third}.0/24`, SubPool: '', Options: {}, V6: false };
    case 'IpamDriver.ReleasePool':
      return { PoolID: uuid(rng) };
    case 'IpamDriver.RequestAddress':
      return { PoolID: uuid(rng), Address: rng.chance(0.5) ? addr : '', Options: { 'com.docker.network.endpoint.macaddress': mac(rng) } };
    case 'IpamDriver.ReleaseAddress':
      return { PoolID: uuid(rng), Address: addr };
    default:
      return undefined; // Plugin.Activate, GetCapabilities, GetDefaultAddressSpaces: no arguments
  }
}

/** Methods whose well-formed call with unknown ids may still make something (they are exercised in flows). */
const MAKES_THINGS = new Set<Method>(['NetworkDriver.CreateNetwork', 'IpamDriver.RequestPool']);

/** Garbage ------------------------------------------------------------------ */

function garbageText(rng: Rng): string {
  const shapes = [
    () => '{',
    () => '}{',
    () => '{"NetworkID": }',
    () => "{'NetworkID': 'x'}",
    () => '{"NetworkID": "a",}',
    () => 'NaN',
    () => 'undefined',
    () => '{"a":1}{"b":2}',
    () => '\u0000\u0001\u0002',
    () => '{"\\ud800": "\\u12"}',
    () => String.fromCharCode(...Array.from({ length: rng.int(1, 200) }, () => rng.int(0, 0xffff))),
    () => Array.from({ length: rng.int(1, 400) }, () => rng.pick(['{', '}', '[', ']', '"', ':', ',', 'a', '1', ' ', '\\', 'null', 'true'])).join(''),
  ];
  let s = rng.pick(shapes)();
  // make sure it does not parse by accident (a number or a keyword could)
  try {
    JSON.parse(s);
    s = `{${s}`;
  } catch {
    /* not JSON: as wanted */
  }
  return s;
}

/** A JSON value of a type not in `allowed` (JSON Schema type names). */
function wrongValue(rng: Rng, allowed: string[]): unknown {
  const candidates: Array<[string, () => unknown]> = [
    ['string', () => rng.pick(['', 'x', '0', 'null', 'a'.repeat(rng.int(1, 5000))])],
    ['number', () => rng.pick([0, -1, 1.5, 1e308, -0])],
    ['integer', () => rng.pick([0, 7, -42, 2 ** 53])],
    ['boolean', () => rng.chance(0.5)],
    ['null', () => null],
    ['array', () => rng.pick([[], [1, 2], [{}], ['x']])],
    // JSON.parse makes "__proto__" an own key (an object literal would set the prototype instead)
    ['object', () => JSON.parse(rng.pick(['{}', '{"a":1}', '{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"x":1}}}'])) as unknown],
  ];
  const okTypes = new Set(allowed);
  if (okTypes.has('number')) okTypes.add('integer');
  if (okTypes.has('integer')) okTypes.add('number');
  const wrong = candidates.filter(([t]) => !okTypes.has(t));
  return rng.pick(wrong)[1]();
}

function badId(rng: Rng): string {
  return rng.pick([
    '',
    rng.hex(63),
    rng.hex(65),
    rng.hex(64).toUpperCase(),
    `${rng.hex(63)}g`,
    `../../${rng.hex(58)}`,
    `${rng.hex(32)} ${rng.hex(31)}`,
    '\u00e9'.repeat(64),
    `${rng.hex(60)}\n${rng.hex(3)}`,
  ]);
}

function deepNesting(rng: Rng, key: string): string {
  const depth = rng.pick([1000, 10_000, 100_000]);
  return `{"${key}":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

/** One invalid request for `method`. */
function invalidFor(method: Method, rng: Rng): FuzzRequest {
  const schema = schemaOf(method);
  const base = wellFormed(method, rng);
  const path = `/${method}`;
  const make = (mutation: string, body: string, verb = 'POST'): FuzzRequest => ({ cls: 'invalid', mutation, method, verb, path, body });
  // Methods without arguments take any JSON (Docker sends none): only bodies that do not parse, or are too big, are invalid.
  const mutations: Record<string, number> = schema
    ? { garbage: 3, truncated: 3, 'not-object': 2, 'wrong-type': 4, 'bad-id': 3, missing: 3, empty: 1, nested: 0.3, oversize: 0.15, verb: 1 }
    : { garbage: 3, truncated: 2, oversize: 0.15, verb: 1 };
  const m = rng.weighted(mutations);
  const text = JSON.stringify(base ?? { Any: 'thing', More: [1, 2, 3] });
  switch (m) {
    case 'garbage':
      return make(m, garbageText(rng));
    case 'truncated':
      return make(m, text.slice(0, rng.int(1, text.length - 1)));
    case 'not-object':
      return make(m, JSON.stringify(rng.pick<unknown>([[], [base], 'NetworkDriver', 42, null, true])));
    case 'wrong-type': {
      const props = schema!.properties ?? {};
      const field = rng.pick(Object.keys(props));
      return make(`${m}:${field}`, JSON.stringify({ ...base, [field]: wrongValue(rng, typesOf(props[field])) }));
    }
    case 'bad-id': {
      const props = schema!.properties ?? {};
      const ids = Object.keys(props).filter((k) => props[k]!.pattern !== undefined || props[k]!.minLength !== undefined);
      if (ids.length === 0) return make('garbage', garbageText(rng));
      const field = rng.pick(ids);
      const value = props[field]!.pattern !== undefined ? badId(rng) : '';
      return make(`${m}:${field}`, JSON.stringify({ ...base, [field]: value }));
    }
    case 'missing': {
      const required = schema!.required ?? [];
      if (required.length === 0) return make('garbage', garbageText(rng));
      const field = rng.pick(required);
      const copy: Record<string, unknown> = { ...base };
      delete copy[field];
      return make(`${m}:${field}`, JSON.stringify(copy));
    }
    case 'empty':
      return make(m, rng.pick(['', ' ', '\n', '\r\n\t ']));
    case 'nested':
      return make(m, deepNesting(rng, rng.pick(Object.keys(schema!.properties ?? { X: {} }))));
    case 'oversize': {
      // well-formed JSON, one byte to 64 KiB over the limit
      const filler = BODY_LIMIT + rng.int(1, 64 * 1024) - text.length - 16;
      return make(m, `{"Pad":"${'x'.repeat(Math.max(1, filler))}",${text.slice(1)}`);
    }
    default:
      return make(m, text, rng.pick(['GET', 'PUT', 'DELETE', 'PATCH']));
  }
}

function unknownMethod(rng: Rng): FuzzRequest {
  const path = rng.pick([
    '/',
    '/NetworkDriver.Nope',
    '/IpamDriver.RequestPools',
    '/networkdriver.createnetwork',
    `/${rng.pick(ALL_METHODS)}/extra`,
    `/${rng.pick(ALL_METHODS)}x`,
    '/Plugin.Deactivate',
    '/../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    `/${'A'.repeat(rng.int(100, 4000))}`,
    '/kuryr/stats/x',
    '/VolumeDriver.Create',
  ]);
  return { cls: 'invalid', mutation: 'unknown-method', method: path, verb: 'POST', path, body: JSON.stringify(wellFormed('NetworkDriver.Join', rng)) };
}

/** Values the schema takes and the driver must refuse. */
function semantic(rng: Rng): FuzzRequest {
  const third = rng.int(0, 255);
  const poolId = uuid(rng);
  const cases: Array<[Method, string, () => Record<string, unknown>]> = [
    ['IpamDriver.RequestPool', 'not-a-cidr', () => ({ AddressSpace: '', Pool: rng.pick(['10.250.0.0', '300.1.1.0/24', '10.250.0.0/33', 'fe80::/129', 'x/24', '10.250.0.0/-1']), SubPool: '', Options: {}, V6: false })],
    ['IpamDriver.RequestPool', 'host-bits', () => ({ AddressSpace: '', Pool: `10.250.${third}.7/24`, SubPool: '', Options: {}, V6: false })],
    ['IpamDriver.RequestPool', 'family-mismatch', () => ({ AddressSpace: '', Pool: `10.250.${third}.0/24`, SubPool: '', Options: {}, V6: true })],
    ['IpamDriver.RequestPool', 'subpool-outside', () => ({ AddressSpace: '', Pool: `10.250.${third}.0/24`, SubPool: `10.251.${third}.0/25`, Options: {}, V6: false })],
    ['IpamDriver.RequestPool', 'unknown-option', () => ({ AddressSpace: '', Pool: `10.250.${third}.0/24`, SubPool: '', Options: { [`no.such.option.${rng.hex(4)}`]: 'x' }, V6: false })],
    ['IpamDriver.RequestAddress', 'not-an-address', () => ({ PoolID: poolId, Address: rng.pick(['10.250.0.300', 'x', '10.250.0.0/24/1', '::g']), Options: {} })],
    ['NetworkDriver.CreateNetwork', 'bad-pool', () => ({ NetworkID: rng.hex(64), Options: {}, IPv4Data: [{ AddressSpace: '', Pool: rng.pick(['x', '10.250.0.0/33', '']), Gateway: 'y' }], IPv6Data: [] })],
    ['NetworkDriver.CreateNetwork', 'unknown-option', () => ({ NetworkID: rng.hex(64), Options: { 'com.docker.network.generic': { [`no.such.${rng.hex(4)}`]: 'x' } }, IPv4Data: [{ AddressSpace: '', Pool: `10.250.${third}.0/24`, Gateway: `10.250.${third}.1/24` }], IPv6Data: [] })],
    ['NetworkDriver.CreateEndpoint', 'bad-address', () => ({ NetworkID: rng.hex(64), EndpointID: rng.hex(64), Options: {}, Interface: { Address: rng.pick(['10.250.0.5', 'x/24', '10.250.0.500/24']), MacAddress: '' } })],
  ];
  const [method, mutation, body] = rng.pick(cases);
  return { cls: 'semantic', mutation, method, verb: 'POST', path: `/${method}`, body: JSON.stringify(body()) };
}

function unknownIds(rng: Rng): FuzzRequest {
  const method = rng.pick(ALL_METHODS.filter((m) => schemaOf(m) !== undefined && !MAKES_THINGS.has(m)));
  return { cls: 'unknown-id', mutation: 'unknown-id', method, verb: 'POST', path: `/${method}`, body: `${JSON.stringify(wellFormed(method, rng))}\n` };
}

function cutOff(rng: Rng): FuzzRequest {
  const method = rng.pick(ALL_METHODS.filter((m) => schemaOf(m) !== undefined));
  const text = JSON.stringify(wellFormed(method, rng));
  return { cls: 'cut-off', mutation: 'cut-off', method, verb: 'POST', path: `/${method}`, body: text.slice(0, rng.int(0, text.length - 1)) };
}

export interface MixOptions {
  /** weights of the classes; default: mostly invalid, some unknown ids, a few semantic and cut-off */
  weights?: Partial<Record<FuzzClass | 'unknown-method', number>>;
}

export const DEFAULT_WEIGHTS: Record<FuzzClass | 'unknown-method', number> = {
  invalid: 76,
  'unknown-method': 4,
  semantic: 6,
  'unknown-id': 12,
  'cut-off': 2,
};

/** The n requests of a seed, one after the other. */
export function* requests(rng: Rng, n: number, opts: MixOptions = {}): Generator<FuzzRequest> {
  const weights = { ...DEFAULT_WEIGHTS, ...opts.weights };
  for (let i = 0; i < n; i++) {
    const cls = rng.weighted(weights);
    if (cls === 'invalid') yield invalidFor(rng.pick(ALL_METHODS), rng);
    else if (cls === 'unknown-method') yield unknownMethod(rng);
    else if (cls === 'semantic') yield semantic(rng);
    else if (cls === 'unknown-id') yield unknownIds(rng);
    else yield cutOff(rng);
  }
}

/** Text of a JavaScript exception that escaped a handler. */
const CRASH = /TypeError|ReferenceError|SyntaxError: (?!Unexpected|Expected|Bad control|Bad escaped|Unterminated|JSON|Unexpected end)|RangeError(?!: Maximum call stack)|Cannot read propert|Cannot destructure|is not a function|is not iterable|undefined is not|of undefined|of null\b/;

/** Why a reply is wrong for its request, or undefined when it is right. */
export function judge(req: FuzzRequest, reply: Reply): string | undefined {
  if (req.cls === 'cut-off') return undefined; // no answer is due; the daemon's health is checked afterwards
  if (reply.status === 0) {
    // The server may close a connection whose body is over the limit before reading it all.
    return req.mutation === 'oversize' ? undefined : 'connection closed without an answer';
  }
  if (reply.status === 200) {
    if (req.cls === 'unknown-id') return undefined;
    return `200 for an ${req.cls} request`;
  }
  let body: { Err?: unknown; Error?: unknown };
  try {
    body = JSON.parse(reply.body) as typeof body;
  } catch {
    return `${reply.status} with a body that is not JSON: ${reply.body.slice(0, 120)}`;
  }
  if (typeof body.Err !== 'string' || body.Err === '') return `${reply.status} without Err`;
  if (typeof body.Error !== 'string' || body.Error === '') return `${reply.status} without Error (the IPAM client reads it)`;
  if (CRASH.test(body.Err)) return `${reply.status}: a JavaScript exception escaped: ${body.Err.slice(0, 200)}`;
  if (req.cls === 'invalid' && (reply.status < 400 || reply.status > 499)) return `${reply.status} for an invalid request (want 4xx): ${body.Err.slice(0, 200)}`;
  return undefined;
}

/** Flows ----------------------------------------------------------------------- */

export type Send = (method: Method, body: unknown) => Promise<Reply>;

export interface FlowResult {
  /** the calls in the order sent, with their statuses */
  calls: Array<{ method: Method; status: number }>;
  /** replies that broke a rule (non-200 without Err/Error, a crash) */
  violations: string[];
}

/**
 * One real network's life in a seeded wrong order: the steps of `docker network
 * create` + `docker run` + `docker rm` + `docker network rm`, shuffled, some
 * repeated, some dropped; then the teardown Docker would send (each step
 * idempotent), so that nothing may remain.
 */
export async function runFlow(rng: Rng, cidr24: string, send: Send): Promise<FlowResult> {
  const calls: FlowResult['calls'] = [];
  const violations: string[] = [];
  const base = cidr24.replace(/\.0\/24$/, '');
  const networkId = rng.hex(64);
  const endpointId = rng.hex(64);
  const state: { poolId?: string; fallbackPool: string; addresses: Set<string> } = { fallbackPool: uuid(rng), addresses: new Set() };
  const poolId = (): string => state.poolId ?? state.fallbackPool;
  /** the address the endpoint gets: the last one RequestAddress gave, else one of the network's */
  let endpointAddress = `${base}.${rng.int(2, 250)}`;
  const call = async (method: Method, body: unknown): Promise<Record<string, unknown> | undefined> => {
    const reply = await send(method, body);
    calls.push({ method, status: reply.status });
    if (reply.status !== 200) {
      const why = judge({ cls: 'unknown-id', mutation: 'flow', method, verb: 'POST', path: `/${method}`, body: '' }, reply);
      if (why) violations.push(`${method}: ${why}`);
      return undefined;
    }
    try {
      return JSON.parse(reply.body) as Record<string, unknown>;
    } catch {
      violations.push(`${method}: 200 with a body that is not JSON`);
      return undefined;
    }
  };
  const steps: Record<string, () => Promise<unknown>> = {
    pool: async () => {
      const r = await call('IpamDriver.RequestPool', { AddressSpace: '', Pool: cidr24, SubPool: '', Options: {}, V6: false });
      if (r && typeof r.PoolID === 'string') state.poolId = r.PoolID;
    },
    gateway: () => call('IpamDriver.RequestAddress', { PoolID: poolId(), Address: `${base}.1`, Options: { RequestAddressType: 'com.docker.network.gateway' } }),
    network: () =>
      call('NetworkDriver.CreateNetwork', {
        NetworkID: networkId,
        Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
        IPv4Data: [{ AddressSpace: '', Pool: cidr24, Gateway: `${base}.1/24` }],
        IPv6Data: [],
      }),
    address: async () => {
      const r = await call('IpamDriver.RequestAddress', { PoolID: poolId(), Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac(rng) } });
      if (r && typeof r.Address === 'string') {
        endpointAddress = r.Address.split('/')[0]!;
        state.addresses.add(endpointAddress);
      }
    },
    endpoint: () => {
      state.addresses.add(endpointAddress);
      return call('NetworkDriver.CreateEndpoint', { NetworkID: networkId, EndpointID: endpointId, Options: {}, Interface: { Address: `${endpointAddress}/24`, AddressIPv6: '', MacAddress: '' } });
    },
    join: () => call('NetworkDriver.Join', { NetworkID: networkId, EndpointID: endpointId, SandboxKey: `/var/run/docker/netns/${rng.hex(12)}`, Options: {} }),
    expose: () =>
      call('NetworkDriver.ProgramExternalConnectivity', {
        NetworkID: networkId,
        EndpointID: endpointId,
        Options: { 'com.docker.network.endpoint.exposedports': [{ Proto: 6, Port: 8080 }] },
      }),
    info: () => call('NetworkDriver.EndpointOperInfo', { NetworkID: networkId, EndpointID: endpointId }),
    revoke: () => call('NetworkDriver.RevokeExternalConnectivity', { NetworkID: networkId, EndpointID: endpointId }),
    leave: () => call('NetworkDriver.Leave', { NetworkID: networkId, EndpointID: endpointId }),
    deleteEndpoint: () => call('NetworkDriver.DeleteEndpoint', { NetworkID: networkId, EndpointID: endpointId }),
    releaseAddress: async () => {
      for (const a of state.addresses.size > 0 ? [...state.addresses] : [endpointAddress]) await call('IpamDriver.ReleaseAddress', { PoolID: poolId(), Address: a });
    },
    deleteNetwork: () => call('NetworkDriver.DeleteNetwork', { NetworkID: networkId }),
    releaseGateway: () => call('IpamDriver.ReleaseAddress', { PoolID: poolId(), Address: `${base}.1` }),
    releasePool: () => call('IpamDriver.ReleasePool', { PoolID: poolId() }),
  };
  const names = Object.keys(steps);
  const order = rng.shuffle(names.filter(() => !rng.chance(0.2)));
  for (let i = 0; i < order.length; i++) if (rng.chance(0.15)) order.splice(i, 0, order[i]!); // repeats
  for (const s of order) await steps[s]!();
  // Docker's teardown, whatever happened before (what Docker sends on rm -f and network rm, then a retry of all of it).
  for (const s of ['revoke', 'leave', 'deleteEndpoint', 'releaseAddress', 'deleteNetwork', 'releaseGateway', 'releasePool']) await steps[s]!();
  return { calls, violations };
}
