/**
 * `OpenStack-API-Version: container 1.N` (also the legacy
 * `Zun-API-Version`): absent → the minimum; `latest` → the maximum; outside
 * [min, max] or malformed → 406. Actions gate on a minimum version (406 below).
 */
import { notAcceptable } from '@kuryr-ts/openstack/errors';

export const MIN_VERSION = { major: 1, minor: 1 };
export const MAX_VERSION = { major: 1, minor: 40 };
export type Version = { major: number; minor: number };

export const versionText = (v: Version): string => `${v.major}.${v.minor}`;

export function parseVersion(headers: Record<string, string | string[] | undefined>): Version {
  const raw = headers['openstack-api-version'] ?? headers['zun-api-version'];
  const text = Array.isArray(raw) ? raw.join(',') : raw;
  if (!text) return MIN_VERSION;
  const entry = text
    .split(',')
    .map((s) => s.trim())
    .find((s) => /^container\s/i.test(s) || /^\d+\.\d+$|^latest$/i.test(s));
  if (!entry) return MIN_VERSION;
  const value = entry.replace(/^container\s+/i, '').trim();
  if (/^latest$/i.test(value)) return MAX_VERSION;
  const m = /^(\d+)\.(\d+)$/.exec(value);
  if (!m) throw notAcceptable(`Invalid API version string ${value}`, 'ZUN_ERR_VERSION');
  const v = { major: Number(m[1]), minor: Number(m[2]) };
  if (v.major !== 1 || v.minor < MIN_VERSION.minor || v.minor > MAX_VERSION.minor) {
    throw notAcceptable(`Version ${value} was requested but the minor version is not supported by this service. The supported version range is: [${versionText(MIN_VERSION)}, ${versionText(MAX_VERSION)}].`, 'ZUN_ERR_VERSION');
  }
  return v;
}

export function requireVersion(v: Version, minMinor: number, what: string): void {
  if (v.minor < minMinor) {
    throw notAcceptable(`${what} needs API version 1.${minMinor} or later (requested ${versionText(v)}); send OpenStack-API-Version: container 1.${minMinor}`, 'ZUN_ERR_VERSION');
  }
}
