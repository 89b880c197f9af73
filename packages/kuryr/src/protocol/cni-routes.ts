/**
 * The CNI edge on the plugin socket, beside Docker's routes: `kuryr-cni`
 * (bin/kuryr-cni.js) hands each CNI verb over as `POST /kuryr/cni/<verb>`
 * (add, del, check, status, gc: names libnetwork never uses) with
 *   {"cniVersion", "containerId", "netns", "ifname", "args": {CNI_ARGS}, "config": {network configuration}}
 * Success is 200 with the CNI result (ADD) or {}; failure is the CNI error
 * object {"cniVersion", "code", "msg", "details"} (plus `kuryrCode`, the
 * error's catalogue code) with the HTTP status the plugin server gives the
 * same error kind. The CNI codes are listed in docs/cni.md.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, BadRequestError } from '@kuryr-ts/openstack/errors';
import type { CniAttachment, CniAttachmentRef, CniService } from '../domain/cni-service.js';
import { statusFor } from './plugin-server.js';

export const CNI_ROUTE_PREFIX = '/kuryr/cni/';

/** CNI's well-known codes and kuryr-ts's own (100 and up). */
export const CNI_CODES = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  notAvailable: 50,
  internal: 100,
  hostFailure: 101,
  neutronObjectMissing: 102,
  conflict: 103,
  refused: 104,
  notSupported: 105,
  checkFailed: 106,
} as const;

const BY_CODE: Record<string, number> = {
  KURYR_ERR_CNI_ARGS: CNI_CODES.invalidEnvironment,
  KURYR_ERR_CNI_CONFIG: CNI_CODES.invalidConfig,
  KURYR_ERR_CONFIG: CNI_CODES.invalidConfig,
  KURYR_ERR_BAD_OPTION: CNI_CODES.invalidConfig,
  KURYR_ERR_CNI_NO_NETNS: CNI_CODES.unknownContainer,
  KURYR_ERR_CNI_CHECK: CNI_CODES.checkFailed,
  KURYR_ERR_HOST: CNI_CODES.hostFailure,
};

const BY_KIND: Record<string, number> = {
  'bad-request': CNI_CODES.invalidConfig,
  unauthorized: CNI_CODES.refused,
  forbidden: CNI_CODES.refused,
  refused: CNI_CODES.refused,
  'not-found': CNI_CODES.neutronObjectMissing,
  'not-acceptable': CNI_CODES.notSupported,
  'not-implemented': CNI_CODES.notSupported,
  conflict: CNI_CODES.conflict,
  unavailable: CNI_CODES.tryAgainLater,
  internal: CNI_CODES.internal,
};

/** The CNI error code of a failure (AppError by its code, then its kind). */
export function cniCodeOf(err: unknown): number {
  if (err instanceof AppError) return BY_CODE[err.code] ?? BY_KIND[err.kind] ?? CNI_CODES.internal;
  if ((err as FastifyError).statusCode === 400) return CNI_CODES.decodeFailure;
  return CNI_CODES.internal;
}

interface CniCall extends CniAttachmentRef {
  cniVersion: string;
  netns: string;
  args: Record<string, string>;
  config: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function configError(message: string): AppError {
  return new BadRequestError(message, 'KURYR_ERR_CNI_CONFIG');
}

function parseCall(body: unknown, verb: string): CniCall {
  if (!isObject(body)) throw new BadRequestError(`${verb}: the request body is not a JSON object`, 'KURYR_ERR_CNI_ARGS');
  const str = (k: string): string => (typeof body[k] === 'string' ? (body[k] as string) : '');
  const args = isObject(body.args) ? Object.fromEntries(Object.entries(body.args).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  return {
    cniVersion: str('cniVersion'),
    containerId: str('containerId'),
    netns: str('netns'),
    ifname: str('ifname'),
    args,
    config: isObject(body.config) ? body.config : {},
  };
}

/** `neutron: {network, subnet?, security_groups?, port?}` of the network configuration. */
function neutronSection(config: Record<string, unknown>, needNetwork: boolean): { network?: string; subnet?: string; securityGroups?: string[]; port?: string } {
  const n = config.neutron;
  if (n === undefined && !needNetwork) return {};
  if (!isObject(n)) throw configError('the network configuration has no "neutron" object ({"network": name or id, "subnet"?, "security_groups"?})');
  const optionalString = (k: string): string | undefined => {
    if (n[k] === undefined) return undefined;
    if (typeof n[k] !== 'string' || n[k] === '') throw configError(`neutron.${k} must be a non-empty string`);
    return n[k] as string;
  };
  const network = optionalString('network');
  if (needNetwork && network === undefined) throw configError('neutron.network (a Neutron network name or id) is missing');
  const sgs = n.security_groups;
  if (sgs !== undefined && (!Array.isArray(sgs) || sgs.some((g) => typeof g !== 'string' || g === ''))) {
    throw configError('neutron.security_groups must be a list of security group names or ids');
  }
  const subnet = optionalString('subnet');
  const port = optionalString('port');
  return {
    ...(network !== undefined ? { network } : {}),
    ...(subnet !== undefined ? { subnet } : {}),
    ...(sgs !== undefined ? { securityGroups: sgs as string[] } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

/** A pre-created port: CNI_ARGS NEUTRON_PORT, else runtimeConfig.neutronPort, else neutron.port. */
function portOf(call: CniCall, fromConfig: string | undefined): string | undefined {
  const rc = call.config.runtimeConfig;
  const fromRuntime = isObject(rc) && typeof rc.neutronPort === 'string' && rc.neutronPort !== '' ? rc.neutronPort : undefined;
  return call.args.NEUTRON_PORT || fromRuntime || fromConfig;
}

/** Versions before 1.0.0 give each address its IP version. */
function before100(version: string): boolean {
  return /^0\./.test(version);
}

/** The CNI result of an attachment, in the configuration's cniVersion. */
export function cniResult(cniVersion: string, a: CniAttachment): Record<string, unknown> {
  const old = before100(cniVersion);
  return {
    cniVersion,
    interfaces: [{ name: a.hostIfName }, { name: a.ifname, mac: a.mac, sandbox: a.netns }],
    ips: a.ips.map((ip) => ({
      ...(old ? { version: String(ip.version) } : {}),
      address: ip.address,
      ...(ip.gateway ? { gateway: ip.gateway } : {}),
      interface: 1,
    })),
    routes: a.routes.map((r) => ({ dst: r.dst, ...(r.gw ? { gw: r.gw } : {}) })),
    ...(a.dnsNameservers.length > 0 ? { dns: { nameservers: a.dnsNameservers } } : {}),
  };
}

/** `usable`: waits for Neutron as Docker's calls do. */
export function cniRoutes(app: FastifyInstance, cni: CniService, usable: () => Promise<void>): void {
  void app.register(async (scope) => {
    scope.setErrorHandler((err, req, reply) => {
      const verb = req.url.slice(CNI_ROUTE_PREFIX.length).toUpperCase();
      const status = statusFor(err, verb);
      const code = verb === 'STATUS' ? CNI_CODES.notAvailable : cniCodeOf(err);
      const message = (err as Error).message;
      req.log[status >= 500 ? 'error' : 'warn']({ method: `CNI ${verb}`, status, code: (err as AppError).code, err: message }, 'request failed');
      const version = isObject(req.body) && typeof req.body.cniVersion === 'string' ? req.body.cniVersion : '1.0.0';
      void reply.code(status).send({
        cniVersion: version,
        code,
        msg: `kuryr CNI ${verb} failed`,
        details: message,
        ...(err instanceof AppError ? { kuryrCode: err.code } : {}),
      });
    });

    scope.post(`${CNI_ROUTE_PREFIX}add`, async (req) => {
      const call = parseCall(req.body, 'ADD');
      const n = neutronSection(call.config, portOf(call, undefined) === undefined);
      await usable();
      const attachment = await cni.add({
        containerId: call.containerId,
        netns: call.netns,
        ifname: call.ifname,
        network: n.network,
        subnet: n.subnet,
        securityGroups: n.securityGroups,
        port: portOf(call, n.port),
      });
      return cniResult(call.cniVersion || '1.0.0', attachment);
    });

    scope.post(`${CNI_ROUTE_PREFIX}del`, async (req) => {
      const call = parseCall(req.body, 'DEL');
      await usable();
      await cni.del({ containerId: call.containerId, ifname: call.ifname, netns: call.netns });
      return {};
    });

    scope.post(`${CNI_ROUTE_PREFIX}check`, async (req) => {
      const call = parseCall(req.body, 'CHECK');
      await usable();
      await cni.check({ containerId: call.containerId, ifname: call.ifname, netns: call.netns });
      return {};
    });

    scope.post(`${CNI_ROUTE_PREFIX}status`, async () => {
      await usable();
      return {};
    });

    scope.post(`${CNI_ROUTE_PREFIX}gc`, async (req) => {
      const call = parseCall(req.body, 'GC');
      const n = neutronSection(call.config, true);
      const raw = call.config['cni.dev/valid-attachments'];
      const valid = (Array.isArray(raw) ? raw : []).filter(isObject).map((v) => ({ containerId: String(v.containerID ?? ''), ifname: String(v.ifname ?? '') }));
      await usable();
      const removed = await cni.gc({ network: n.network!, valid });
      req.log.info({ method: 'CNI GC', removed }, 'ok');
      return {};
    });
  });
}
