/** Recording fakes of the host network ports (LinkOps, OvsOps), with injectable failures. */
import { HostError } from '../../src/domain/errors.js';
import type { LinkOps, OvsInterface, OvsOps, VethSpec } from '../../src/ports/host-net.js';

export class FakeLinks implements LinkOps {
  readonly links = new Map<string, VethSpec>();
  readonly calls: string[] = [];
  failCreate = false;

  async createVeth(spec: VethSpec): Promise<void> {
    this.calls.push(`add ${spec.hostName}`);
    if (this.failCreate) throw new HostError('ip link add', 'injected failure');
    if (this.links.has(spec.hostName)) throw new HostError('ip link add', 'File exists');
    this.links.set(spec.hostName, spec);
  }

  async deleteLink(name: string): Promise<boolean> {
    this.calls.push(`del ${name}`);
    return this.links.delete(name);
  }

  async linkExists(name: string): Promise<boolean> {
    return this.links.has(name);
  }
}

export class FakeOvs implements OvsOps {
  readonly ports = new Map<string, OvsInterface & { bridge: string }>();
  failAdd = false;

  async addPort(bridge: string, name: string, externalIds: Record<string, string>): Promise<void> {
    if (this.failAdd) throw new HostError('ovs-vsctl add-port', 'injected failure');
    this.ports.set(name, { bridge, name, externalIds });
  }

  async deletePort(_bridge: string, name: string): Promise<void> {
    this.ports.delete(name);
  }

  async findInterfaces(externalIds: Record<string, string>): Promise<OvsInterface[]> {
    return [...this.ports.values()].filter((p) => Object.entries(externalIds).every(([k, v]) => p.externalIds[k] === v));
  }
}
