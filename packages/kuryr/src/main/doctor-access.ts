/**
 * `kuryr doctor`'s checks of who can reach the plugin API: the unix socket's
 * mode and owner, and whether `[DEFAULT] kuryr_uri` serves it unauthenticated
 * (the same verdict the daemon acts on at start).
 */
import { readFileSync, statSync } from 'node:fs';
import type { KuryrConfig } from '../config/kuryr-config.js';
import type { Check } from './doctor.js';
import { assessKuryrUri } from './kuryr-uri.js';
import { addressToServe, type SpecLookupOptions } from './plugin-spec.js';
import { driverNameOf } from './reconcile-schedule.js';

/** The name of a uid/gid from /etc/passwd or /etc/group (the number when not found). */
function nameOf(file: '/etc/passwd' | '/etc/group', id: number): string {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(id));
    return line?.split(':')[0] || String(id);
  } catch {
    return String(id);
  }
}

export async function socketAccessCheck(path: string): Promise<Check> {
  const name = 'plugin socket access';
  let st;
  try {
    st = statSync(path);
  } catch {
    return { name, ok: true, detail: `nothing to check: ${path} does not exist (see "plugin socket")` };
  }
  const mode = st.mode & 0o777;
  const owner = `${nameOf('/etc/passwd', st.uid)}:${nameOf('/etc/group', st.gid)}`;
  const text = `mode 0${mode.toString(8)}, owner ${owner}`;
  if (mode & 0o007) {
    return {
      name,
      ok: false,
      detail: `${text}: every local user can call the plugin API (create networks, plug ports on this host)`,
      hint: 'restart the daemon: kuryr-ts creates its socket 0660, owned by the user and group it runs as',
    };
  }
  return { name, ok: true, detail: `${text}: only ${nameOf('/etc/passwd', st.uid)}${mode & 0o060 ? ` and group ${nameOf('/etc/group', st.gid)}` : ''} can connect` };
}

export async function kuryrUriCheck(config: KuryrConfig, specs: SpecLookupOptions = {}): Promise<Check> {
  const name = 'kuryr_uri';
  // Unset, the daemon serves the address of Docker's spec file for its driver name, if there is one.
  const listen = addressToServe(config.kuryrUri, config.enableSsl, driverNameOf(config.pluginSocket), specs);
  const v = await assessKuryrUri({ ...config, kuryrUri: listen.uri, source: listen.source });
  if (v.level === 'none') return { name, ok: true, detail: `not set: the plugin API is served on the unix socket only${listen.skipped ? ` (${listen.skipped})` : ''}` };
  if (v.level === 'refuse') {
    return {
      name,
      ok: false,
      detail: `the daemon refuses to start: ${v.error.message}`,
      hint: listen.source
        ? 'remove the spec file (and restart dockerd), or set kuryr_uri, or enable_ssl with ssl_ca_file'
        : 'use a loopback address, or enable_ssl with ssl_ca_file, or unset kuryr_uri (the unix socket needs no spec file)',
    };
  }
  return { name, ok: true, detail: listen.why ? `${listen.why}; ${v.message}` : v.message };
}
