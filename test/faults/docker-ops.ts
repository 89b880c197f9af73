/**
 * Docker commands as the fault scenarios run them: each one timed and bounded
 * (a command still running at the bound is killed and counted as a wedge),
 * its failure a value with Docker's own message. And the checks that follow
 * every fault: which containers run, and whether each reaches its peer.
 */
import { exec } from '../lab-support/exec.js';
import { IMAGE, containerIp, docker } from '../integration/support.js';
import { knobs } from './knobs.js';

export interface OpResult {
  ok: boolean;
  ms: number;
  out: string;
  /** still running at the bound (killed) */
  wedged: boolean;
}

export async function dockerOp(...args: string[]): Promise<OpResult> {
  const r = await exec('docker', args, knobs.commandBoundS * 1000);
  return { ok: r.ok, ms: r.ms, out: r.out, wedged: !r.ok && r.out.endsWith('(timed out)') };
}

/** `docker run -d` of a busybox that sleeps (stop timeout 1 s: busybox's sleep ignores SIGTERM). */
export function runContainer(name: string, network: string, ...extra: string[]): Promise<OpResult> {
  return dockerOp('run', '-d', '--name', name, '--net', network, '--stop-timeout', '1', ...extra, IMAGE, 'sleep', '3600');
}

/** Two running containers `<prefix>a` and `<prefix>b` on `network`, and b's address (the peer a pings). */
export async function startPair(prefix: string, network: string): Promise<{ a: string; b: string; ipB: string }> {
  const [a, b] = [`${prefix}a`, `${prefix}b`];
  for (const c of [a, b]) {
    const r = await runContainer(c, network);
    if (!r.ok) throw new Error(`${c} did not start: ${r.out}`);
  }
  return { a, b, ipB: await containerIp(b, network) };
}

export function removeContainer(name: string): Promise<OpResult> {
  return dockerOp('rm', '-f', name);
}

/** Containers whose name starts with `prefix`: name → State.Status. */
export async function containersNamed(prefix: string): Promise<Map<string, string>> {
  const out = await docker('ps', '-a', '--filter', `name=^/${prefix}`, '--format', '{{.Names}} {{.State}}');
  return new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]),
  );
}

/** Removes every container whose name starts with `prefix` (ignoring those already gone). */
export async function removeAll(prefix: string): Promise<void> {
  const names = [...(await containersNamed(prefix)).keys()];
  for (let i = 0; i < names.length; i += 20) await dockerOp('rm', '-f', ...names.slice(i, i + 20));
}

/** One ping from a container to an address, retried for up to `withinMs` (a new port's first packet may take a moment). */
export async function reaches(container: string, ip: string, withinMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const r = await exec('docker', ['exec', container, 'ping', '-c', '1', '-W', '2', ip], 20_000);
    if (r.ok && /1 packets received/.test(r.out)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** Runs `work` over `items`, `width` at a time. */
export async function eachLimited<T, R>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** Of the running containers among `names`, those that do not reach `peerIp` (each retried for a while). */
export async function unreachable(names: string[], peerIp: string, withinMs = 15_000): Promise<string[]> {
  const results = await eachLimited(names, 4, async (n) => ((await reaches(n, peerIp, withinMs)) ? undefined : n));
  return results.filter((n): n is string => n !== undefined);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const seconds = (ms: number): number => Math.round(ms / 100) / 10;
