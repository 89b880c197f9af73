/**
 * OvsOps over ovs-vsctl. Values are passed as quoted OVSDB strings so MACs and
 * ids with ':' survive; `--timeout` bounds a wedged ovsdb-server; add-port
 * waits (default) for ovs-vswitchd to apply the change.
 */
import type { OvsInterface, OvsOps } from '../../ports/host-net.js';
import type { Exec } from './exec.js';

const quote = (v: string): string => JSON.stringify(v);

export class VsctlOvsOps implements OvsOps {
  constructor(
    readonly run: Exec,
    readonly timeoutSeconds = 10,
  ) {}

  async addPort(bridge: string, name: string, externalIds: Record<string, string>): Promise<void> {
    const ids = Object.entries(externalIds).map(([k, v]) => `external_ids:${k}=${quote(v)}`);
    await this.run('ovs-vsctl', [
      `--timeout=${this.timeoutSeconds}`,
      '--',
      '--may-exist',
      'add-port',
      bridge,
      name,
      '--',
      'set',
      'Interface',
      name,
      ...ids,
    ]);
  }

  async deletePort(bridge: string, name: string): Promise<void> {
    await this.run('ovs-vsctl', [`--timeout=${this.timeoutSeconds}`, '--if-exists', 'del-port', bridge, name]);
  }

  async findInterfaces(externalIds: Record<string, string>): Promise<OvsInterface[]> {
    const conds = Object.entries(externalIds).map(([k, v]) => `external_ids:${k}=${quote(v)}`);
    const { stdout } = await this.run('ovs-vsctl', [
      `--timeout=${this.timeoutSeconds}`,
      '--format=json',
      '--columns=name,external_ids',
      'find',
      'Interface',
      ...conds,
    ]);
    return parseFindOutput(stdout);
  }
}

/** Parses `ovs-vsctl --format=json --columns=name,external_ids find ...`. */
export function parseFindOutput(stdout: string): OvsInterface[] {
  const table = JSON.parse(stdout) as { headings: string[]; data: unknown[][] };
  const nameCol = table.headings.indexOf('name');
  const idsCol = table.headings.indexOf('external_ids');
  return table.data.map((row) => {
    const ids: Record<string, string> = {};
    const map = row[idsCol] as ['map', Array<[string, string]>] | undefined;
    for (const [k, v] of map?.[1] ?? []) ids[k] = v;
    return { name: String(row[nameCol]), externalIds: ids };
  });
}
