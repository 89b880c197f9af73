/**
 * Zun's microversions: the request header `OpenStack-API-Version: container
 * 1.N` picks the version; absent → the minimum (1.1); `container latest` (and
 * `container 1.latest`, which python-zunclient's ZUN_API_VERSION spells) → the
 * maximum; another service type, a malformed value or a version outside
 * [min, max] → 406. Every /v1 answer carries `OpenStack-API-Version`,
 * `OpenStack-API-Minimum-Version`, `OpenStack-API-Maximum-Version` and
 * `Vary: OpenStack-API-Version`, as Zun's. Actions gate on a minimum version
 * (406 below).
 */
import { notAcceptable } from '@kuryr-ts/openstack/errors';

export const MIN_VERSION = { major: 1, minor: 1 };
export const MAX_VERSION = { major: 1, minor: 40 };
export type Version = { major: number; minor: number };

export const HEADER = 'OpenStack-API-Version';
export const SERVICE = 'container';

export const versionText = (v: Version): string => `${v.major}.${v.minor}`;
export const headerValue = (v: Version): string => `${SERVICE} ${versionText(v)}`;

const rangeText = `[${headerValue(MIN_VERSION)}, ${headerValue(MAX_VERSION)}]`;

export function parseVersion(headers: Record<string, string | string[] | undefined>): Version {
  const raw = headers[HEADER.toLowerCase()];
  const text = (Array.isArray(raw) ? raw.join(',') : raw)?.trim();
  if (!text) return MIN_VERSION;
  // a list naming several services (`compute 2.1, container 1.2`) is read for the container entry
  const entries = text.split(',').map((s) => s.trim().split(/\s+/));
  const entry = entries.find((e) => e[0]?.toLowerCase() === SERVICE);
  if (!entry || entry.length !== 2) throw notAcceptable(`Invalid service type for ${HEADER} header: use "${SERVICE} 1.N"`, 'ZUN_ERR_VERSION');
  const value = entry[1]!;
  if (/^(1\.)?latest$/i.test(value)) return MAX_VERSION;
  const m = /^(\d+)\.(\d+)$/.exec(value);
  if (!m) throw notAcceptable(`Invalid value for ${HEADER} header: ${value}`, 'ZUN_ERR_VERSION');
  const v = { major: Number(m[1]), minor: Number(m[2]) };
  if (v.major !== MIN_VERSION.major) {
    throw notAcceptable(`Mutually exclusive versions requested. Version ${value} requested but not supported by this service. The supported version range is: ${rangeText}.`, 'ZUN_ERR_VERSION');
  }
  if (v.minor < MIN_VERSION.minor || v.minor > MAX_VERSION.minor) {
    throw notAcceptable(`Version ${value} was requested but the minor version is not supported by this service. The supported version range is: ${rangeText}.`, 'ZUN_ERR_VERSION');
  }
  return v;
}

export function requireVersion(v: Version, minMinor: number, what: string): void {
  if (v.minor < minMinor) {
    throw notAcceptable(`${what} needs API version 1.${minMinor} or later (requested ${versionText(v)}); send ${HEADER}: ${SERVICE} 1.${minMinor}`, 'ZUN_ERR_VERSION');
  }
}

/** The request's version is 1.minor or later (for answers whose shape changed at a version). */
export const atLeast = (v: Version, minor: number): boolean => v.minor >= minor;
