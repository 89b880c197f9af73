/**
 * `kuryr-cni`, the CNI plugin (spec 1.0.0; 0.3.x, 0.4.0 and 1.1.0's STATUS and
 * GC too): reads the CNI environment and the network configuration, hands the
 * verb to the kuryr daemon (which holds Neutron, the port pools and the
 * binding drivers) and prints its answer. Every failure is a CNI error object
 * on stdout with a code and a non-zero exit. Imports nothing of the daemon.
 */
import { postToDaemon, type DaemonReply } from './daemon-client.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
export const DEFAULT_DAEMON_SOCKET = '/run/docker/plugins/kuryr.sock';
const DEFAULT_TIMEOUT_S = 180;

/** The CNI codes the plugin itself answers (the daemon answers the rest, docs/cni.md). */
const CODE = { incompatibleVersion: 1, invalidEnvironment: 4, ioFailure: 5, decodeFailure: 6, invalidConfig: 7, tryAgainLater: 11, internal: 100 } as const;

export interface PluginOutcome {
  /** What goes to stdout (may be empty). */
  stdout: string;
  exitCode: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** How the plugin reaches the daemon (a seam for tests). */
export type DaemonCall = (socketPath: string, path: string, payload: unknown, timeoutMs: number) => Promise<DaemonReply>;

class PluginError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly details = '',
  ) {
    super(message);
  }
}

const VERBS: Record<string, { env: string[]; since: string }> = {
  ADD: { env: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'], since: '0.1.0' },
  DEL: { env: ['CNI_CONTAINERID', 'CNI_IFNAME'], since: '0.1.0' },
  CHECK: { env: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'], since: '0.4.0' },
  STATUS: { env: [], since: '1.1.0' },
  GC: { env: [], since: '1.1.0' },
};

function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** CNI_ARGS: `K=V;K2=V2`. */
export function parseCniArgs(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new PluginError(CODE.invalidEnvironment, 'CNI_ARGS is not a list of KEY=VALUE pairs separated by ";"', `bad pair ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function parseConfig(stdin: string): Record<string, unknown> {
  let config: unknown;
  try {
    config = JSON.parse(stdin);
  } catch (err) {
    throw new PluginError(CODE.decodeFailure, 'the network configuration on stdin is not JSON', (err as Error).message);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new PluginError(CODE.invalidConfig, 'the network configuration is not a JSON object');
  return config as Record<string, unknown>;
}

function versionOf(config: Record<string, unknown>): string {
  const v = config.cniVersion;
  if (typeof v !== 'string' || v === '') throw new PluginError(CODE.invalidConfig, 'the network configuration has no cniVersion');
  if (!SUPPORTED_VERSIONS.includes(v)) {
    throw new PluginError(CODE.incompatibleVersion, `kuryr-cni does not support CNI version ${v}`, `supported: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  return v;
}

const errorJson = (cniVersion: string, e: PluginError): string => `${JSON.stringify({ cniVersion, code: e.code, msg: e.message, ...(e.details ? { details: e.details } : {}) })}\n`;

/** Runs one CNI verb. Never throws: every failure is a CNI error outcome. */
export async function runPlugin(env: Env, stdin: string, call: DaemonCall = postToDaemon): Promise<PluginOutcome> {
  let cniVersion = '1.0.0';
  try {
    const command = env.CNI_COMMAND ?? '';
    if (command === 'VERSION') {
      let asked = '';
      try {
        const v = (JSON.parse(stdin || '{}') as { cniVersion?: unknown }).cniVersion;
        asked = typeof v === 'string' ? v : '';
      } catch {
        // VERSION answers whatever it is given
      }
      return { stdout: `${JSON.stringify({ cniVersion: SUPPORTED_VERSIONS.includes(asked) ? asked : '1.0.0', supportedVersions: SUPPORTED_VERSIONS })}\n`, exitCode: 0 };
    }
    const verb = VERBS[command];
    if (!verb) throw new PluginError(CODE.invalidEnvironment, command ? `unknown CNI_COMMAND ${command}` : 'CNI_COMMAND is not set', 'ADD, DEL, CHECK, STATUS, GC or VERSION');
    const config = parseConfig(stdin);
    cniVersion = typeof config.cniVersion === 'string' && SUPPORTED_VERSIONS.includes(config.cniVersion) ? config.cniVersion : cniVersion;
    const version = versionOf(config);
    if (!versionAtLeast(version, verb.since)) throw new PluginError(CODE.incompatibleVersion, `${command} needs CNI version ${verb.since} or later; the configuration says ${version}`);
    const missing = verb.env.filter((k) => !env[k]);
    if (missing.length > 0) throw new PluginError(CODE.invalidEnvironment, `${command} needs ${missing.join(', ')} in the environment`);
    const socket = config.daemon_socket ?? DEFAULT_DAEMON_SOCKET;
    if (typeof socket !== 'string' || !socket.startsWith('/')) throw new PluginError(CODE.invalidConfig, 'daemon_socket must be an absolute path');
    const timeoutS = config.daemon_timeout ?? DEFAULT_TIMEOUT_S;
    if (typeof timeoutS !== 'number' || !(timeoutS > 0)) throw new PluginError(CODE.invalidConfig, 'daemon_timeout must be a positive number of seconds');
    const payload = {
      cniVersion: version,
      containerId: env.CNI_CONTAINERID ?? '',
      netns: env.CNI_NETNS ?? '',
      ifname: env.CNI_IFNAME ?? '',
      args: parseCniArgs(env.CNI_ARGS),
      config,
    };
    let reply: DaemonReply;
    try {
      reply = await call(socket, `/kuryr/cni/${command.toLowerCase()}`, payload, timeoutS * 1000);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new PluginError(CODE.tryAgainLater, `the kuryr daemon did not answer on ${socket}`, `${e.code ?? ''} ${e.message}`.trim());
    }
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(reply.body || '{}') as Record<string, unknown>;
    } catch {
      throw new PluginError(CODE.internal, `the kuryr daemon answered ${reply.status} with no JSON`, reply.body.slice(0, 500));
    }
    if (reply.status === 404 && typeof answer.code !== 'number') {
      throw new PluginError(CODE.internal, `the kuryr daemon on ${socket} serves no CNI (an older version, or one without network namespace support)`);
    }
    if (reply.status !== 200) {
      if (typeof answer.code === 'number') return { stdout: `${JSON.stringify({ ...answer, cniVersion })}\n`, exitCode: 1 };
      throw new PluginError(CODE.internal, `the kuryr daemon answered ${reply.status}`, JSON.stringify(answer).slice(0, 500));
    }
    // ADD prints its result; the other verbs print nothing on success.
    return { stdout: command === 'ADD' ? `${JSON.stringify(answer)}\n` : '', exitCode: 0 };
  } catch (err) {
    const e = err instanceof PluginError ? err : new PluginError(CODE.internal, 'kuryr-cni failed', (err as Error).message);
    return { stdout: errorJson(cniVersion, e), exitCode: 1 };
  }
}

/** Reads stdin to its end (the runtime closes it). */
export async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The process entry point: bin/kuryr-cni.js. */
export async function cniMain(): Promise<number> {
  let stdin: string;
  try {
    stdin = process.env.CNI_COMMAND === 'VERSION' && process.stdin.isTTY ? '' : await readStdin(process.stdin);
  } catch (err) {
    const e = new PluginError(CODE.ioFailure, 'could not read the network configuration from stdin', (err as Error).message);
    process.stdout.write(errorJson('1.0.0', e));
    return 1;
  }
  const outcome = await runPlugin(process.env, stdin);
  process.stdout.write(outcome.stdout);
  return outcome.exitCode;
}
