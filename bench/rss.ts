/**
 * The daemon's resident memory without a lab: the real `kuryr daemon`
 * (bin/kuryr.js, the flags of its shebang unless NODE_FLAGS says otherwise)
 * on a temporary socket, its Neutron a loopback HTTP stand-in over the
 * in-memory fake Neutron (in this process), its host commands (ip,
 * ovs-vsctl, ethtool, nsenter) stubs on its PATH that change nothing, never a
 * reconcile pass. Reads VmRSS of a bare `node` with the same flags, of the
 * daemon idle (Neutron probed), then after every `STEP` cycles of the
 * libnetwork calls Docker makes for `docker network create`, `docker run`,
 * `docker rm` and `docker network rm`; the daemon's CPU time per call;
 * and the split of its memory (process.memoryUsage, from a preload that
 * answers SIGUSR2).
 *
 *   npx tsc -b bench/tsconfig.json && node dist/bench/rss.js [cycles=300] [step=100] [runs=3]
 *   NODE_FLAGS='--max-semi-space-size=1 --v8-pool-size=1' node dist/bench/rss.js
 *   HEAP_SNAPSHOTS=/tmp/snaps NODE_FLAGS='--max-semi-space-size=1 --expose-gc' node dist/bench/rss.js 100
 *     (a heap snapshot idle and one after the cycles, to compare in Chrome DevTools)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NeutronError } from '@kuryr-ts/openstack/errors';
import type { Query, ResourceName } from '@kuryr-ts/openstack/neutron/types';
import { FakeNeutron } from '@kuryr-ts/openstack/testing/fake-neutron';
import { pluginRequest } from '../test/lab-support/plugin-socket.js';
import { shebangFlags } from '../test/lab-support/kuryr-daemon.js';
import { randomHex, randomMac, sleep } from './util.js';

/** The daemon's entry point: this checkout's (dist/bench → the repository), or KURYR_BIN (another checkout's, to compare). */
const KURYR_BIN = process.env.KURYR_BIN ?? new URL('../../packages/kuryr/bin/kuryr.js', import.meta.url).pathname;
const PLURAL: Record<string, string> = {
  agents: 'agents',
  networks: 'networks',
  subnets: 'subnets',
  subnetpools: 'subnetpools',
  ports: 'ports',
  'security-groups': 'security_groups',
  'security-group-rules': 'security_group_rules',
};
const singular = (resource: string): string => PLURAL[resource]!.replace(/s$/, '');

/** The fake Neutron over HTTP, as NeutronClient speaks it (endpoint_override = the returned URL). */
async function stubNeutron(fake: FakeNeutron): Promise<{ url: string; server: Server }> {
  const answer = async (req: IncomingMessage, body: Record<string, unknown>): Promise<[number, unknown]> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [res = '', id, sub, tag] = url.pathname.replace(/^\/v2\.0\//, '').split('/').map(decodeURIComponent);
    if (res === 'extensions') return (await fake.hasExtension(id ?? '')) ? [200, { extension: { alias: id } }] : [404, { NeutronError: { type: 'ExtensionNotFound', message: `${id}` } }];
    if (res === 'trunks' && id && sub) return (await fake.trunkSubports(id, sub as 'add_subports', (body.sub_ports ?? []) as Array<Record<string, unknown>>), [200, {}]);
    if (!(res in PLURAL)) return [404, { NeutronError: { type: 'NotFound', message: res } }];
    const r = res as ResourceName;
    if (sub === 'tags') {
      if (req.method === 'PUT' && tag !== undefined) return (await fake.addTag(r, id!, tag), [201, {}]);
      if (req.method === 'DELETE' && tag !== undefined) return (await fake.removeTag(r, id!, tag), [204, undefined]);
      return (await fake.replaceTags(r, id!, (body.tags ?? []) as string[]), [200, { tags: body.tags }]);
    }
    switch (req.method) {
      case 'GET': {
        if (id) return [200, { [singular(r)]: await fake.show(r, id) }];
        const query: Record<string, string | string[]> = {};
        for (const k of new Set(url.searchParams.keys())) {
          const all = url.searchParams.getAll(k);
          query[k] = all.length > 1 ? all : all[0]!;
        }
        return [200, { [PLURAL[r]!]: await fake.list(r, query as Query) }];
      }
      case 'POST':
        if (PLURAL[r]! in body) return [201, { [PLURAL[r]!]: await fake.createBulk(r, body[PLURAL[r]!] as never[]) }];
        return [201, { [singular(r)]: await fake.create(r, body[singular(r)] as never) }];
      case 'PUT': {
        const rev = /revision_number=(\d+)/.exec(String(req.headers['if-match'] ?? ''))?.[1];
        return [200, { [singular(r)]: await fake.update(r, id!, body[singular(r)] as never, rev === undefined ? {} : { ifRevision: Number(rev) }) }];
      }
      case 'DELETE':
        return (await fake.delete(r, id!)) ? [204, undefined] : [404, { NeutronError: { type: 'NotFound', message: `${r} ${id} not found` } }];
      default:
        return [405, {}];
    }
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8').on('data', (d: string) => (text += d));
    req.on('end', () => {
      answer(req, text ? (JSON.parse(text) as Record<string, unknown>) : {}).then(
        ([status, body]) => res.writeHead(status, { 'Content-Type': 'application/json' }).end(body === undefined ? '' : JSON.stringify(body)),
        (err: unknown) => {
          const e = err instanceof NeutronError ? err : undefined;
          res.writeHead(e?.status ?? 500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ NeutronError: { type: e?.neutronType ?? 'Error', message: (err as Error).message } }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Host commands that change nothing: links and OVS ports are absent, every change "succeeds". */
function stubHostCommands(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const script = (name: string, body: string): void => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  script('ip', `case "$*" in *show\\ dev*) echo "Device does not exist." >&2; exit 1;; *-json*) echo '[]';; esac\ncat >/dev/null\nexit 0`);
  script('ovs-vsctl', 'exit 0');
  script('ethtool', 'exit 0');
  script('nsenter', 'exit 0');
  return bin;
}

const rssMB = (pid: number): number => Math.round((Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024) * 10) / 10;
/** utime + stime in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks at USER_HZ 100
}

/** Writes process.memoryUsage() to a file on SIGUSR2 (a preload; adds nothing else), after a full GC under --expose-gc. */
function preload(dir: string, snapshots: string | undefined): { flag: string; read: (child: ChildProcess) => Promise<Record<string, number>> } {
  const out = join(dir, 'mem.json');
  const file = join(dir, 'mem-preload.mjs');
  writeFileSync(
    file,
    `import { writeFileSync } from 'node:fs';\nimport { writeHeapSnapshot } from 'node:v8';\nlet n = 0;\n` +
      `process.on('SIGUSR2', () => {\n  globalThis.gc?.();\n  writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.memoryUsage()));\n` +
      (snapshots ? `  writeHeapSnapshot(${JSON.stringify(snapshots)} + '/kuryr-' + n++ + '.heapsnapshot');\n` : '') +
      '});\n',
  );
  return {
    flag: `--import=${file}`,
    read: async (child) => {
      rmSync(out, { force: true });
      child.kill('SIGUSR2');
      for (let i = 0; i < 500 && !existsSync(out); i++) await sleep(20);
      await sleep(snapshots ? 3000 : 0);
      const mb = JSON.parse(readFileSync(out, 'utf8')) as Record<string, number>;
      return Object.fromEntries(Object.entries(mb).map(([k, v]) => [k, Math.round((v / 2 ** 20) * 10) / 10]));
    },
  };
}

async function call<T = Record<string, unknown>>(socket: string, method: string, body: unknown): Promise<T> {
  const r = await pluginRequest(socket, method, JSON.stringify(body), { timeoutMs: 30_000 });
  if (r.status !== 200) throw new Error(`${method}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return (r.body ? JSON.parse(r.body) : {}) as T;
}

/** One network's life as Docker drives it: create, one container on it (run, rm), remove. 12 calls. */
async function cycle(socket: string, i: number): Promise<number> {
  const cidr = `10.${100 + Math.floor(i / 250) % 100}.${i % 250}.0/24`;
  const gw = cidr.replace(/0\/24$/, '1');
  const nid = randomHex(64);
  const eid = randomHex(64);
  const mac = randomMac();
  const { PoolID } = await call<{ PoolID: string }>(socket, 'IpamDriver.RequestPool', { AddressSpace: 'LocalDefault', Pool: cidr, SubPool: '', Options: {}, V6: false });
  await call(socket, 'IpamDriver.RequestAddress', { PoolID, Address: gw, Options: { RequestAddressType: 'com.docker.network.gateway' } });
  await call(socket, 'NetworkDriver.CreateNetwork', {
    NetworkID: nid,
    IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: cidr, Gateway: `${gw}/24` }],
    IPv6Data: [],
    Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
  });
  const { Address } = await call<{ Address: string }>(socket, 'IpamDriver.RequestAddress', { PoolID, Address: '', Options: { 'com.docker.network.endpoint.macaddress': mac } });
  await call(socket, 'NetworkDriver.CreateEndpoint', { NetworkID: nid, EndpointID: eid, Interface: { Address, AddressIPv6: '', MacAddress: mac }, Options: {} });
  await call(socket, 'NetworkDriver.Join', { NetworkID: nid, EndpointID: eid, SandboxKey: `/var/run/docker/netns/${eid.slice(0, 12)}`, Options: {} });
  await call(socket, 'NetworkDriver.Leave', { NetworkID: nid, EndpointID: eid });
  await call(socket, 'NetworkDriver.DeleteEndpoint', { NetworkID: nid, EndpointID: eid });
  await call(socket, 'IpamDriver.ReleaseAddress', { PoolID, Address: Address.split('/')[0]! });
  await call(socket, 'NetworkDriver.DeleteNetwork', { NetworkID: nid });
  await call(socket, 'IpamDriver.ReleaseAddress', { PoolID, Address: gw });
  await call(socket, 'IpamDriver.ReleasePool', { PoolID });
  return 12;
}

async function bareNode(flags: string[]): Promise<number> {
  const child = spawn(process.execPath, [...flags, '-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await sleep(1000);
  const mb = rssMB(child.pid!);
  child.kill('SIGKILL');
  return mb;
}

interface Run {
  /** [what, VmRSS MB] in order. */
  rows: Array<[string, number]>;
  cpuMsPerCall: number;
  /** Wall time per call as seen over the socket (the stand-in Neutron shares this process). */
  wallMsPerCall: number;
  calls: number;
  idle: Record<string, number>;
  after: Record<string, number> | undefined;
  stats: Record<string, unknown>;
}

/** One daemon: started, read idle, driven `cycles` times (a reading every `step`), stopped. */
async function measure(flags: string[], cycles: number, step: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-rss-'));
  const neutron = await stubNeutron(new FakeNeutron());
  const socket = join(dir, 'kuryr.sock');
  const log = join(dir, 'kuryr.log');
  const conf = join(dir, 'kuryr.conf');
  writeFileSync(
    conf,
    `[DEFAULT]\nplugin_socket = ${socket}\nlog_file = ${log}\nreconcile_interval = 0\ndocker_host = unix:///nonexistent/docker.sock\n` +
      `[neutron]\nauth_type = none\nendpoint_override = ${neutron.url}\n[binding]\nhost_id = rss-probe\n`,
  );
  const mem = preload(dir, process.env.HEAP_SNAPSHOTS);
  const env = { ...process.env, PATH: `${stubHostCommands(dir)}:${process.env.PATH ?? ''}` };
  const child = spawn(process.execPath, [...flags, mem.flag, KURYR_BIN, 'daemon', '--config-file', conf], { stdio: 'ignore', env });
  const pid = child.pid!;
  const rows: Array<[string, number]> = [];
  try {
    rows.push([`bare node ${flags.join(' ')}`.trim(), await bareNode(flags)]);
    const t0 = Date.now();
    while (!(existsSync(log) && /Neutron ready/.test(readFileSync(log, 'utf8')))) {
      if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`the daemon did not start:\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
      await sleep(100);
    }
    await sleep(2000);
    rows.push(['daemon idle (Neutron probed)', rssMB(pid)]);
    const idle = await mem.read(child);
    let calls = 0;
    const cpu0 = cpuMs(pid);
    const wall0 = performance.now();
    let after: Record<string, number> | undefined;
    for (let i = 0; i < cycles; i++) {
      calls += await cycle(socket, i);
      if ((i + 1) % step === 0 || i + 1 === cycles) rows.push([`after ${i + 1} cycles (${calls} calls)`, rssMB(pid)]);
    }
    const cpu = cpuMs(pid) - cpu0;
    const wall = performance.now() - wall0;
    if (cycles > 0) {
      await sleep(5000);
      rows.push(['idle 5 s later', rssMB(pid)]);
      after = await mem.read(child);
      await sleep(25_000); // V8's memory reducer shrinks an idle heap after a while
      rows.push(['idle 30 s later', rssMB(pid)]);
    }
    const stats = JSON.parse((await pluginRequest(socket, '/kuryr/stats', '', { method: 'GET', timeoutMs: 5000 })).body) as Record<string, unknown>;
    return { rows, cpuMsPerCall: calls ? cpu / calls : 0, wallMsPerCall: calls ? wall / calls : 0, calls, idle, after, stats };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    if (child.exitCode === null) child.kill('SIGKILL');
    neutron.server.closeAllConnections();
    neutron.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const cycles = Number(process.argv[2] ?? 300);
  const step = Number(process.argv[3] ?? 100);
  const runs = Number(process.argv[4] ?? 3);
  const flags = process.env.NODE_FLAGS !== undefined ? process.env.NODE_FLAGS.split(/\s+/).filter(Boolean) : shebangFlags(KURYR_BIN);
  const all: Run[] = [];
  for (let r = 0; r < runs; r++) all.push(await measure(flags, cycles, step));
  console.log(`node ${process.version}, flags: ${flags.join(' ') || '(none)'}, ${runs} runs (median, then each run)\n`);
  console.log('| | VmRSS MB | runs |\n|---|---:|---|');
  all[0]!.rows.forEach(([what], i) => {
    const xs = all.map((run) => run.rows[i]![1]);
    console.log(`| ${what} | ${median(xs)} | ${xs.join(', ')} |`);
  });
  const last = all.at(-1)!;
  if (cycles > 0) {
    const per = (f: (r: Run) => number): string => `${median(all.map(f)).toFixed(2)} ms (${all.map((r) => f(r).toFixed(2)).join(', ')})`;
    console.log(`\nper call (${last.calls} calls a run): daemon CPU ${per((r) => r.cpuMsPerCall)}, wall ${per((r) => r.wallMsPerCall)}`);
  }
  console.log(`memoryUsage MB idle: ${JSON.stringify(last.idle)}`);
  if (last.after) console.log(`memoryUsage MB after: ${JSON.stringify(last.after)}`);
  console.log(`daemon caches after: ${JSON.stringify({ caches: last.stats.caches, ledger: last.stats.ledger, portPools: last.stats.portPools })}`);
}

await main();
