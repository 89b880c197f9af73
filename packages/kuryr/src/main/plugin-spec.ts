/**
 * Docker's spec file for this driver, read as dockerd reads it (v1 plugin
 * discovery): the first of `N.spec`, `N/N.spec`, `N.json`, `N/N.json` in
 * `/etc/docker/plugins`, then in `/usr/lib/docker/plugins`. A host that ran
 * Kuryr-libnetwork has one naming `http://127.0.0.1:23750`, and a running
 * dockerd keeps calling the address it first activated the plugin at: unless
 * `kuryr_uri` is set, the daemon listens there too, so Docker sees no
 * difference after the swap.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Where dockerd looks for spec files, in its order. */
export const DOCKER_SPEC_DIRS: readonly string[] = ['/etc/docker/plugins', '/usr/lib/docker/plugins'];

export type PluginSpec =
  | { path: string; addr: string; tls: boolean }
  | { path: string; problem: string };

export interface SpecLookupOptions {
  /** Directories to look in (tests use a temporary one). Default: Docker's. */
  dirs?: readonly string[] | undefined;
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function readSpec(path: string): PluginSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { path, problem: `unreadable: ${(err as Error).message}` };
  }
  if (!path.endsWith('.json')) return { path, addr: text.trim(), tls: false };
  try {
    const spec = JSON.parse(text) as { Addr?: unknown; TLSConfig?: unknown };
    if (typeof spec.Addr !== 'string') return { path, problem: 'no "Addr"' };
    // Docker speaks TLS to a tcp:// address when the spec has a TLSConfig.
    return { path, addr: spec.Addr.trim(), tls: spec.TLSConfig !== undefined && spec.TLSConfig !== null };
  } catch (err) {
    return { path, problem: `not JSON: ${(err as Error).message}` };
  }
}

/** The spec file dockerd would use for driver `name` when no socket is found, if there is one. */
export function findPluginSpec(name: string, opts: SpecLookupOptions = {}): PluginSpec | undefined {
  for (const dir of opts.dirs ?? DOCKER_SPEC_DIRS) {
    for (const ext of ['.spec', '.json']) {
      for (const path of [join(dir, `${name}${ext}`), join(dir, name, `${name}${ext}`)]) {
        if (exists(path)) return readSpec(path);
      }
    }
  }
  return undefined;
}

export type SpecListener =
  | { uri: string; path: string }
  | { skip: string; path: string };

/**
 * What the daemon serves for a spec file when `kuryr_uri` is not set: the
 * spec's address as a URL to listen on (plain HTTP, or HTTPS when both the
 * spec and `enable_ssl` say so), or why it is left alone.
 */
export function specListener(spec: PluginSpec, enableSsl: boolean): SpecListener {
  if ('problem' in spec) return { skip: `Docker cannot use it either (${spec.problem})`, path: spec.path };
  let url: URL;
  try {
    url = new URL(spec.addr);
  } catch {
    return { skip: `"${spec.addr}" is not a URL`, path: spec.path };
  }
  if (url.protocol === 'unix:') return { skip: `it names a unix socket (${spec.addr}), not a TCP address`, path: spec.path };
  if (!['http:', 'https:', 'tcp:'].includes(url.protocol)) return { skip: `Docker does not speak ${url.protocol.slice(0, -1)}`, path: spec.path };
  const tls = url.protocol === 'https:' || (url.protocol === 'tcp:' && spec.tls);
  const port = url.port || { 'http:': '80', 'https:': '443' }[url.protocol];
  if (!url.hostname || !port) return { skip: `"${spec.addr}" names no host and port`, path: spec.path };
  if (tls !== enableSsl) {
    return {
      skip: tls ? `Docker speaks HTTPS to ${spec.addr} and [DEFAULT] enable_ssl is off` : `Docker speaks plain HTTP to ${spec.addr} and [DEFAULT] enable_ssl is on`,
      path: spec.path,
    };
  }
  return { uri: `${tls ? 'https' : 'http'}://${url.hostname}:${port}`, path: spec.path };
}

export interface ListenChoice {
  /** The TCP address to serve besides the socket, if any. */
  uri: string | undefined;
  /** Set when the address comes from a spec file: where, for the messages about it. */
  source?: string;
  /** The start-up line saying why the daemon listens at the spec's address. */
  why?: string;
  /** The start-up line saying why a spec file found is not served. */
  skipped?: string;
}

/** `[DEFAULT] kuryr_uri` when set; else the address of Docker's spec file for this driver, if it can be served. */
export function addressToServe(kuryrUri: string | undefined, enableSsl: boolean, driverName: string, opts: SpecLookupOptions = {}): ListenChoice {
  if (kuryrUri) return { uri: kuryrUri };
  const spec = findPluginSpec(driverName, opts);
  if (!spec) return { uri: undefined };
  const listener = specListener(spec, enableSsl);
  if ('skip' in listener) {
    return { uri: undefined, skipped: `Docker's spec file ${listener.path} for driver "${driverName}" is not served: ${listener.skip}` };
  }
  return {
    uri: listener.uri,
    source: `Docker's spec file ${listener.path} (${listener.uri})`,
    why:
      `also listening on ${listener.uri}: kuryr_uri is not set and Docker's spec file ${listener.path} names this address, ` +
      `which a running dockerd keeps calling for driver "${driverName}" (set kuryr_uri to choose the address, or remove the spec file and restart dockerd to use the socket alone)`,
  };
}
