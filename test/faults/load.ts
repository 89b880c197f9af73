/**
 * Steady container traffic during a fault: one after the other, `docker run`
 * a new container, then `docker rm -f` it without waiting for the removal (a
 * removal held up by the fault must not keep new runs from meeting it too),
 * every operation timed and kept
 * with its outcome and Docker's message, so that a scenario can say what
 * failed while the fault lasted, how the failures read, and when service
 * came back.
 */
import { removeContainer, runContainer, seconds } from './docker-ops.js';

export interface LoadOp {
  op: 'run' | 'rm';
  name: string;
  /** performance.now() at start and end */
  start: number;
  end: number;
  ok: boolean;
  out: string;
  wedged: boolean;
}

export class ContainerLoad {
  readonly ops: LoadOp[] = [];
  #running = false;
  #loop: Promise<void> | undefined;
  #seq = 0;
  readonly #removals = new Set<Promise<void>>();

  constructor(
    readonly prefix: string,
    readonly network: string,
    readonly gapMs = 300,
  ) {}

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await Promise.all(this.#removals);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const name = `${this.prefix}l${this.#seq++}`;
      const t0 = performance.now();
      const r = await runContainer(name, this.network);
      this.ops.push({ op: 'run', name, start: t0, end: performance.now(), ok: r.ok, out: r.out, wedged: r.wedged });
      const t1 = performance.now();
      const removal = removeContainer(name).then((rm) => {
        this.ops.push({ op: 'rm', name, start: t1, end: performance.now(), ok: rm.ok, out: rm.out, wedged: rm.wedged });
      });
      this.#removals.add(removal);
      void removal.finally(() => this.#removals.delete(removal));
      await new Promise((res) => setTimeout(res, this.gapMs));
    }
  }

  /** Runs that started within [from, to). */
  runsBetween(from: number, to: number): LoadOp[] {
    return this.ops.filter((o) => o.op === 'run' && o.start >= from && o.start < to);
  }

  /** Runs that were in flight at some moment of [from, to] (started before its end, ended after its start). */
  runsOverlapping(from: number, to: number): LoadOp[] {
    return this.ops.filter((o) => o.op === 'run' && o.start <= to && o.end >= from);
  }

  /** The runs around [from, to], for a note: when each started and ended (s from `from`), and how. */
  timeline(from: number, to: number): string {
    const runs = this.ops.filter((o) => o.op === 'run' && o.end >= from - 5000 && o.start <= to + 5000);
    const line = (o: LoadOp): string => `${seconds(o.start - from)}..${seconds(o.end - from)} ${o.ok ? 'ok' : `failed (${o.out.split('\n')[0]?.slice(0, 160)})`}`;
    return `docker runs around the fault (s from its start; it ended at ${seconds(to - from)} s): ${runs.map(line).join('; ')}`;
  }

  /** The first successful run that started at or after `t`, waited for up to `timeoutMs`. */
  async firstSuccessAfter(t: number, timeoutMs: number): Promise<LoadOp | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = this.ops.find((o) => o.op === 'run' && o.ok && o.start >= t);
      if (ok) return ok;
      if (Date.now() > deadline || !this.#running) return undefined;
      await new Promise((res) => setTimeout(res, 200));
    }
  }
}
