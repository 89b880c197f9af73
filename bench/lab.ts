/**
 * What the bench drives in the lab: the docker CLI, Neutron directly (for the
 * floor and for leak checks, with a Keystone token of the lab's kuryr user),
 * a kuryr daemon of its own (its own plugin socket, Neutron through the
 * counting proxy, started and stopped by pid), libnetwork calls on that
 * daemon's socket, and /proc readings of the daemon.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';

export const REPO = new URL('../../', import.meta.url).pathname;
export const LAB_CONF = '/etc/kuryr-lab/kuryr.conf';

export interface ShResult {
  ok: boolean;
  out: string;
  ms: number;
}

/** Runs a command (argv, no shell); never throws: failures come back with ok=false and the error text. */
export function sh(cmd: string, args: string[], timeoutMs = 120_000): Promise<ShResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const ms = performance.now() - t0;
      if (err) resolve({ ok: false, out: `${String(stderr || stdout || err.message).trim()}${err.killed ? ' (timed out)' : ''}`, ms });
      else resolve({ ok: true, out: String(stdout).trim(), ms });
    });
  });
}

export const docker = (...args: string[]): Promise<ShResult> => sh('docker', args);

/** docker, but a failure throws (setup steps). */
export async function dockerOk(...args: string[]): Promise<string> {
  const r = await docker(...args);
  if (!r.ok) throw new Error(`docker ${args.join(' ')}: ${r.out}`);
  return r.out;
}

/** A minimal oslo-style INI reader: enough for the lab's kuryr.conf (no continuation lines there). */
export function readIni(path: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = 'DEFAULT';
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) {
      section = m[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    (out[section] ??= {})[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

export function hostId(): string {
  try {
    return readFileSync('/run/kuryr-lab/host', 'utf8').trim();
  } catch {
    return readIni(LAB_CONF).binding?.host_id ?? '';
  }
}

export interface NeutronReply {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

/** Neutron straight from the bench (no proxy, no daemon): the floor and the leak checks. */
export class NeutronDirect {
  #token: string | undefined;
  #endpoint = '';
  /** the project of the daemon's (and the bench's) Keystone user: where kuryr's networks count against the quota */
  projectId: string | undefined;

  async init(): Promise<void> {
    const n = readIni(LAB_CONF).neutron ?? {};
    if ((n.auth_type ?? 'password') === 'none') {
      this.#endpoint = n.endpoint_override ?? 'http://127.0.0.1:9696';
      return;
    }
    const authUrl = (n.auth_url ?? 'http://127.0.0.1:5000/v3').replace(/\/+$/, '');
    const res = await fetch(`${authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: n.username, password: n.password, domain: { name: n.user_domain_name ?? 'Default' } } },
          },
          scope: { project: { name: n.project_name, domain: { name: n.project_domain_name ?? 'Default' } } },
        },
      }),
    });
    if (!res.ok) throw new Error(`Keystone token for the bench: HTTP ${res.status}`);
    this.#token = res.headers.get('x-subject-token') ?? undefined;
    const body = (await res.json()) as { token: { project?: { id: string }; catalog?: Array<{ type: string; endpoints: Array<{ interface: string; region?: string; url: string }> }> } };
    this.projectId = body.token.project?.id;
    const iface = n.endpoint_type ?? 'public';
    const eps = body.token.catalog?.find((s) => s.type === 'network')?.endpoints ?? [];
    const ep = eps.find((e) => e.interface === iface && (!n.region_name || e.region === n.region_name)) ?? eps[0];
    this.#endpoint = n.endpoint_override ?? ep?.url ?? 'http://127.0.0.1:9696';
  }

  get endpoint(): string {
    return this.#endpoint.replace(/\/+$/, '').replace(/\/v2\.0$/, '');
  }

  async call(method: string, path: string, body?: unknown): Promise<NeutronReply> {
    const t0 = performance.now();
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.#token) headers['X-Auth-Token'] = this.#token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${this.endpoint}/v2.0${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    const ms = performance.now() - t0;
    let parsed: Record<string, unknown>;
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { raw: text.slice(0, 300) };
    }
    return { status: res.status, body: parsed, ms };
  }

  async must(method: string, path: string, body?: unknown): Promise<NeutronReply> {
    const r = await this.call(method, path, body);
    if (r.status >= 300) throw new Error(`Neutron ${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return r;
  }

  async list<T = Record<string, unknown>>(resource: string, query: string): Promise<T[]> {
    const r = await this.must('GET', `/${resource}?${query}`);
    const key = resource === 'subnetpools' ? 'subnetpools' : resource;
    return (r.body[key] ?? []) as T[];
  }
}

/** The Neutron network kuryr made or tagged for a Docker network id. */
export async function neutronNetworkOf(neutron: NeutronDirect, dockerNetworkId: string): Promise<string | undefined> {
  const nets = await neutron.list<{ id: string }>('networks', `tags=kuryr.net.uuid.lh:${dockerNetworkId.slice(0, 32)},kuryr.net.uuid.uh:${dockerNetworkId.slice(32)}`);
  return nets[0]?.id;
}

export interface BenchDaemon {
  pid: number;
  socket: string;
  driver: string;
  log: string;
  stop(): Promise<void>;
}

/**
 * Starts `kuryr daemon` with the lab's config plus an extra file: another plugin socket, Neutron
 * through the proxy (or straight to the lab's Neutron without a proxy port), and `extraConf`.
 */
export async function startDaemon(driver: string, proxyPort: number | undefined, extraConf = ''): Promise<BenchDaemon> {
  const dir = '/run/kuryr-lab/bench';
  mkdirSync(dir, { recursive: true });
  const conf = `${dir}/${driver}.conf`;
  const socket = `/run/docker/plugins/${driver}.sock`;
  const log = `/var/log/kuryr-lab/${driver}.log`;
  const neutronConf = proxyPort === undefined ? '' : `\n[neutron]\nendpoint_override = http://127.0.0.1:${proxyPort}\n`;
  writeFileSync(conf, `[DEFAULT]\nplugin_socket = ${socket}\nlog_file = ${log}\n${neutronConf}\n${extraConf}\n`);
  const child: ChildProcess = spawn(process.execPath, ['--max-semi-space-size=1', `${REPO}packages/kuryr/bin/kuryr.js`, 'daemon', '--config-file', LAB_CONF, '--config-file', conf], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!existsSync(socket) || !(await pluginRaw(socket, 'Plugin.Activate', '{}').then((r) => r.status === 200, () => false))) {
    if (child.exitCode !== null) throw new Error(`the bench daemon exited (${child.exitCode}); see ${log}`);
    if (Date.now() > deadline) throw new Error(`the bench daemon did not answer on ${socket}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    socket,
    driver,
    log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export function pluginRaw(socket: string, path: string, payload: string, method = 'POST'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path: `/${path.replace(/^\//, '')}`, method, headers: { 'Content-Length': Buffer.byteLength(payload) } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`${path}: no answer in 120 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** A libnetwork call as Docker makes it; a non-200 answer throws with the driver's error text. */
export async function plugin<T = Record<string, unknown>>(socket: string, method: string, body: unknown): Promise<T> {
  const r = await pluginRaw(socket, method, JSON.stringify(body));
  if (r.status !== 200) throw new Error(`${method}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return (r.body ? JSON.parse(r.body) : {}) as T;
}

export interface DaemonOpTotals {
  requests: number;
  errors: number;
  neutronCalls: number;
  totalMs: number;
}

export async function daemonStats(socket: string): Promise<Record<string, DaemonOpTotals>> {
  const r = await pluginRaw(socket, 'kuryr/stats', '', 'GET');
  const st = JSON.parse(r.body) as { operations: Record<string, DaemonOpTotals>; backgroundNeutronCalls?: number };
  // Calls made after a reply (endpoint tags, pool refills) count too, as a pseudo-operation with no requests.
  return { ...st.operations, '(after the reply)': { requests: 0, errors: 0, neutronCalls: st.backgroundNeutronCalls ?? 0, totalMs: 0 } };
}

export interface ProcReading {
  rssMB: number;
  fds: number;
}

export function procReading(pid: number): ProcReading {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMB: Math.round((kb / 1024) * 10) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

export function randomHex(n: number): string {
  let s = '';
  while (s.length < n) s += Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
  return s.slice(0, n);
}

/** A locally administered unicast MAC, as Docker makes them. */
export function randomMac(): string {
  const b = randomHex(10).match(/../g)!;
  return ['02', ...b].join(':');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs fn over items with at most `limit` at a time; results in input order. */
export async function pool<I, O>(items: readonly I[], limit: number, fn: (item: I, i: number) => Promise<O>): Promise<O[]> {
  const out = new Array<O>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}
