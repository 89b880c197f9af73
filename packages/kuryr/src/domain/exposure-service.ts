/**
 * `docker run --expose`: one security group per port (Kuryr's
 * `<port>-exposed_ports`), one ingress rule per protocol and contiguous port
 * range, for IPv4 and IPv6 (Kuryr: IPv4 only, C11), prepended to the port's
 * groups; found again by the endpoint's tags, not by the port's name (Kuryr
 * bug C3: it looked up `<EID>-port`, a name its ports never had, and did
 * nothing). `[DEFAULT] process_external_connectivity = false` turns it off.
 */
import { withUndo } from '@kuryr-ts/openstack/lib/undo';
import type { NeutronApi, NeutronPort } from '@kuryr-ts/openstack/neutron/types';
import { BadRequestError, NeutronError, describeError } from '@kuryr-ts/openstack/errors';
import { createOnce } from './create-once.js';
import { endpointPortName, exposedPortsGroupName, idTags } from './naming.js';
import type { NeutronIndex } from './neutron-index.js';
import type { DriverSettings, Logger } from './settings.js';

export const EXPOSED_PORTS = 'com.docker.network.endpoint.exposedports';
/** The description of an `--expose` group kuryr-ts makes (Kuryr-libnetwork's said "…created by Kuryr."). */
export const EXPOSED_PORTS_GROUP_DESCRIPTION = 'Docker exposed ports created by kuryr-ts.';

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };

export interface ExposureRule {
  protocol: string;
  min: number | null;
  max: number | null;
}

/** Groups Docker's [{Proto, Port}] by protocol and merges consecutive ports into ranges. */
export function exposureRules(exposed: unknown): ExposureRule[] {
  if (exposed === undefined || exposed === null) return [];
  if (!Array.isArray(exposed)) throw new BadRequestError(`${EXPOSED_PORTS} must be an array of {Proto, Port}`);
  const byProto = new Map<string, number[]>();
  for (const item of exposed as Array<{ Proto?: unknown; Port?: unknown }>) {
    const proto = PROTOCOLS[Number(item?.Proto)];
    const port = Number(item?.Port);
    if (!proto) throw new BadRequestError(`exposed port ${JSON.stringify(item)}: unsupported protocol number ${String(item?.Proto)}`);
    if (proto !== 'icmp' && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new BadRequestError(`exposed port ${JSON.stringify(item)}: invalid port`);
    }
    byProto.set(proto, [...(byProto.get(proto) ?? []), port]);
  }
  const rules: ExposureRule[] = [];
  for (const [protocol, ports] of byProto) {
    if (protocol === 'icmp') {
      rules.push({ protocol, min: null, max: null });
      continue;
    }
    const sorted = [...new Set(ports)].sort((a, b) => a - b);
    let start = sorted[0]!;
    let prev = start;
    for (const p of [...sorted.slice(1), Number.NaN]) {
      if (p === prev + 1) {
        prev = p;
        continue;
      }
      rules.push({ protocol, min: start, max: prev });
      start = p;
      prev = p;
    }
  }
  return rules;
}

export interface ExposureServiceOptions {
  neutron: NeutronApi;
  /** Hint caches: the endpoint's port. */
  index: NeutronIndex;
  settings: DriverSettings;
  log: Logger;
}

export class ExposureService {
  readonly neutron: NeutronApi;
  readonly index: NeutronIndex;
  readonly settings: DriverSettings;
  readonly log: Logger;

  constructor(opts: ExposureServiceOptions) {
    this.neutron = opts.neutron;
    this.index = opts.index;
    this.settings = opts.settings;
    this.log = opts.log;
  }

  async #port(endpointId: string): Promise<NeutronPort | undefined> {
    const query = this.index.tagging ? { tags: idTags(endpointId).join(',') } : { name: endpointPortName(endpointId) };
    return this.index.endpoint(endpointId)?.port ?? (await this.neutron.list('ports', query))[0];
  }

  async program(req: { endpointId: string; options: Record<string, unknown> }): Promise<void> {
    if (!this.settings.processExternalConnectivity) return;
    const rules = exposureRules(req.options[EXPOSED_PORTS]);
    if (rules.length === 0) return;
    const port = await this.#port(req.endpointId);
    if (!port) throw new NeutronError('GET', '/v2.0/ports', 404, 'PortNotFound', `no port is tagged with endpoint ${req.endpointId}`);
    if (port.port_security_enabled === false) {
      this.log.info({ portId: port.id }, 'exposed ports: port security is disabled on the port, nothing to open');
      return;
    }
    if (await this.#groupOf(req.endpointId)) return; // already programmed (a repeated call)
    const undoFailed = (step: string, err: unknown): void => this.log.error({ step, err: describeError(err) }, 'exposed ports undo failed');
    await withUndo(undoFailed, async (undo) => {
      const name = exposedPortsGroupName(port.id);
      // Identity: the name (one group per port); found by it after an unanswered POST.
      const sg = await createOnce({
        what: `security group ${name}`,
        create: () => this.neutron.create('security-groups', { name, description: EXPOSED_PORTS_GROUP_DESCRIPTION }),
        find: async () => (await this.neutron.list('security-groups', { name }))[0],
        log: this.log,
      });
      undo.push(`delete security group ${sg.id}`, () => this.neutron.delete('security-groups', sg.id));
      await Promise.all([
        this.index.tagging ? this.neutron.replaceTags('security-groups', sg.id, idTags(req.endpointId)) : Promise.resolve(),
        this.neutron.createBulk(
          'security-group-rules',
          rules.flatMap((r) =>
            (['IPv4', 'IPv6'] as const).map((ethertype) => ({
              security_group_id: sg.id,
              direction: 'ingress',
              ethertype,
              protocol: r.protocol === 'icmp' && ethertype === 'IPv6' ? 'ipv6-icmp' : r.protocol,
              ...(r.min !== null ? { port_range_min: r.min, port_range_max: r.max } : {}),
            })),
          ),
        ),
      ]);
      const groups = [sg.id, ...(port.security_groups ?? []).filter((g) => g !== sg.id)];
      await this.neutron.update('ports', port.id, { security_groups: groups });
      const rec = this.index.endpoint(req.endpointId);
      if (rec) this.index.rememberEndpoint({ ...rec, port: { ...rec.port, security_groups: groups }, exposedGroupId: sg.id });
    });
  }

  async #groupOf(endpointId: string): Promise<string | undefined> {
    const rec = this.index.endpoint(endpointId);
    if (rec) return rec.exposedGroupId;
    if (this.index.tagging) return (await this.neutron.list('security-groups', { tags: idTags(endpointId).join(',') }))[0]?.id;
    // Tag-less Neutron: Kuryr's name, from the endpoint's port.
    const port = await this.#port(endpointId);
    return port ? (await this.neutron.list('security-groups', { name: exposedPortsGroupName(port.id) }))[0]?.id : undefined;
  }

  /** Idempotent: no group is fine; a port already gone is fine. */
  async revoke(req: { endpointId: string }): Promise<void> {
    if (!this.settings.processExternalConnectivity) return;
    const groupId = await this.#groupOf(req.endpointId);
    if (!groupId) return;
    const port = await this.#port(req.endpointId);
    if (port) {
      const groups = (port.security_groups ?? []).filter((g) => g !== groupId);
      try {
        await this.neutron.update('ports', port.id, { security_groups: groups });
      } catch (err) {
        if (!(err instanceof NeutronError && err.isNotFound)) throw err;
      }
      const rec = this.index.endpoint(req.endpointId);
      if (rec) {
        const { exposedGroupId: _gone, ...rest } = rec;
        void _gone;
        this.index.rememberEndpoint({ ...rest, port: { ...rec.port, security_groups: groups } });
      }
    }
    await this.neutron.delete('security-groups', groupId);
  }

  /**
   * DeleteEndpoint's safety net: Docker sends RevokeExternalConnectivity only to
   * the gateway endpoint; a group this daemon made and still knows goes here.
   * (No Neutron lookup: detach stays cheap.)
   */
  async revokeIfKnown(endpointId: string): Promise<void> {
    if (this.index.endpoint(endpointId)?.exposedGroupId) await this.revoke({ endpointId });
  }
}
