/**
 * A systemd unit's [Service] settings, and the setpriv command line that gives
 * a process the same user, groups, capability sets and no_new_privs flag, so
 * tests run the service under exactly what its unit grants (this host has no
 * running systemd). The sandboxing settings (ProtectSystem=, SystemCallFilter=,
 * RestrictAddressFamilies=, ...) are not reproduced; `systemd-analyze verify`
 * checks them.
 */
import { readFileSync } from 'node:fs';
import { sh } from './support.js';

/** Every key of the [Service] section, each with its values in file order (a repeated key adds one). */
export function serviceSettings(path: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let inService = false;
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      inService = line === '[Service]';
      continue;
    }
    const eq = line.indexOf('=');
    if (!inService || eq < 0) continue;
    const key = line.slice(0, eq).trim();
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return out;
}

/** The last value of a key ('' if absent), as systemd reads single-valued settings. */
export const setting = (s: Map<string, string[]>, key: string): string => s.get(key)?.at(-1) ?? '';

/** CAP_NET_ADMIN CAP_NET_RAW -> ['net_admin', 'net_raw']; empty = none. */
export const capsOf = (value: string): string[] => value.split(/\s+/).filter(Boolean).map((c) => c.replace(/^CAP_/i, '').toLowerCase());

const capSet = (caps: string[]): string => ['-all', ...caps.map((c) => `+${c}`)].join(',');

export interface UnitIdentity {
  uid: number;
  gid: number;
  /** the supplementary groups' ids */
  groups: number[];
}

async function idOf(db: 'passwd' | 'group', name: string): Promise<number | undefined> {
  const line = await sh('getent', [db, name]).catch(() => '');
  const id = Number(line.split(':')[2]);
  return line === '' || !Number.isInteger(id) ? undefined : id;
}

/**
 * User=/Group=/SupplementaryGroups= as ids. A User= this host does not have
 * (the unit's system user is created at install) becomes `fallbackUid`, an
 * unprivileged id; a missing supplementary group is an error.
 */
export async function identityOf(s: Map<string, string[]>, fallbackUid = 65534): Promise<UnitIdentity | undefined> {
  const user = setting(s, 'User');
  if (user === '' || user === 'root') return undefined;
  const uid = (await idOf('passwd', user)) ?? fallbackUid;
  const group = setting(s, 'Group');
  const gid = (group === '' ? undefined : await idOf('group', group)) ?? uid;
  const groups: number[] = [];
  for (const g of setting(s, 'SupplementaryGroups').split(/\s+/).filter(Boolean)) {
    const id = await idOf('group', g);
    if (id === undefined) throw new Error(`SupplementaryGroups=${g}: no such group on this host`);
    groups.push(id);
  }
  return { uid, gid, groups };
}

/** setpriv arguments (up to and including `--`) for the unit's identity, capabilities and NoNewPrivileges=. */
export function setprivPrefix(s: Map<string, string[]>, who: UnitIdentity | undefined): string[] {
  // absent = unrestricted, "~" = all but: neither is what these units mean to grant
  if (!s.has('CapabilityBoundingSet') || /~/.test(setting(s, 'CapabilityBoundingSet'))) throw new Error('the unit must list its CapabilityBoundingSet= (possibly empty)');
  const bounding = capsOf(setting(s, 'CapabilityBoundingSet'));
  const ambient = capsOf(setting(s, 'AmbientCapabilities'));
  const args = ['setpriv'];
  if (who !== undefined) {
    args.push('--reuid', String(who.uid), '--regid', String(who.gid));
    args.push(...(who.groups.length > 0 ? ['--groups', who.groups.join(',')] : ['--clear-groups']));
  }
  args.push('--bounding-set', capSet(bounding), '--inh-caps', capSet(ambient), '--ambient-caps', capSet(ambient));
  if (/^(true|yes|1|on)$/i.test(setting(s, 'NoNewPrivileges'))) args.push('--no-new-privs');
  args.push('--');
  return args;
}
