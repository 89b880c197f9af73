/**
 * The performance targets, with and without port pools, next to what a run
 * measured: each kuryr ratio against Docker's bridge driver and against the
 * null remote driver (the floor of any remote driver) of the same run, and
 * the bound of each target computed from that run's own measurements (the
 * Neutron calls Docker must wait for, timed straight against Neutron; Docker's
 * remote-driver path; an idle Node.js), with why it bounds the target.
 * Rows whose data a run does not have (older runs, phases not run) are left
 * out, and so is a bound whose measurements a run does not have.
 */
import type { ProcReading } from './lab.js';
import type { Results, TimelinePoint } from './report.js';

/** [measure, kuryr-ts, × bridge, × null driver, bound (same run), target, met] */
export type TargetRow = [string, string, string, string, string, string, string];

/** What bounds one target row, from the run's measurements. */
export interface TargetBound {
  /** the bound as the table shows it (× bridge for latencies) */
  cell: string;
  /** why, with the run's numbers */
  why: string;
}

const yes = (ok: boolean): string => (ok ? '✅' : '❌');
const fin = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);
const x = (v: number | undefined): string => (fin(v) ? `${v}×` : '–');
const ms = (v: number | undefined): string => (!fin(v) ? '–' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const r2 = (v: number): number => Math.round(v * 100) / 100;
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v}`;

/** The Neutron API workers of the lab (the run's parameter; 2 in the lab recipe). */
const workersOf = (r: Results): number => Number((r.meta?.params as { neutronApiWorkers?: number } | undefined)?.neutronApiWorkers ?? 2);

/** The Neutron calls the pool daemon counted Docker waiting for in `docker run -d` (phase 1): 0 for a hand-out in memory, 1 with `[vif_pool] mark_hand_outs`; undefined when the run has no such count. */
export function poolHandOutWaits(r: Results): number | undefined {
  const row = r.callsPools?.find((c) => c.op === 'docker run -d (attach)');
  return row && row.foreground.length > 0 ? Math.max(...row.foreground) : undefined;
}

/** Whether Docker waited for the guarded hand-out mark in this run (runs without the count: whether it timed the mark straight against Neutron). */
export function handOutMarked(r: Results): boolean {
  const n = poolHandOutWaits(r);
  return n === undefined ? fin(r.latency?.summaries['floor: port update']?.median) : n > 0;
}

/** What the pool daemon counted Docker waiting for in this run's call counts (phase 1), for the pool rows whose design waits for a fixed number. */
function waited(r: Results, key: string): string {
  const ops: Record<string, [string, number, string]> = {
    'pools: run -d': ['docker run -d (attach)', handOutMarked(r) ? 1 : 0, 'a mark refused on a stale revision and retried'],
    'pools: rm -f': ['docker rm -f (detach)', 0, 'the port was deleted instead of taken back to the pool'],
  };
  const op = ops[key];
  const row = op && r.callsPools?.find((c) => c.op === op[0]);
  if (!op || !row || row.foreground.length === 0) return '';
  const n = Math.max(...row.foreground);
  return n === op[1] ? '' : ` This run's call counts had Docker wait for ${n} Neutron call${n === 1 ? '' : 's'} here, not ${op[1]}: ${op[2]}.`;
}

/** The bounds of the latency rows: a floor in ms (what Docker's path plus the waited Neutron calls take) over the bridge median. */
function latencyBounds(r: Results): Record<string, TargetBound> {
  const s = r.latency?.summaries ?? {};
  const med = (k: string): number | undefined => (fin(s[k]?.median) ? s[k]!.median : undefined);
  const out: Record<string, TargetBound> = {};
  const add = (key: string, kuryr: string, bridge: string, parts: Array<[string, string]>, why: (floor: string) => string): void => {
    const b = med(bridge);
    const vals = parts.map(([k]) => med(k));
    const k = med(kuryr);
    if (!fin(b) || !vals.every(fin) || !fin(k)) return;
    const floor = vals.reduce((a, v) => a + v, 0);
    const terms = parts.length > 1 ? `${parts.map(([, label], i) => `${label} ${ms(vals[i])}`).join(' + ')} = ${ms(floor)}` : `${ms(floor)}`;
    const above = k - floor;
    out[key] = {
      cell: `${r2(floor / b)}× (${ms(floor)})`,
      why: `${why(`${terms}, ${r2(floor / b)}× bridge (${ms(b)})`)}${waited(r, key)} kuryr-ts: ${ms(k)}, ${above >= 0 ? `${ms(above)} above` : `${ms(-above)} below`} that floor (medians: their sum is no strict bound).`,
    };
  };
  if (handOutMarked(r)) {
    add('pools: run -d', 'kuryr pools run -d', 'bridge run -d', [['null remote driver run -d', 'the null remote driver'], ['floor: port update', 'a guarded `PUT ports/<id>`']], (f) =>
      `Docker's remote-driver path (the null remote driver's \`run -d\`) plus the one Neutron call Docker still waits for: the hand-out mark, a \`PUT ports/<id>\` with \`If-Match\` on the port's revision, without which a pool port could be handed out twice (by two daemons, or across a restart); timed straight against Neutron on the floor port. ${f}.`,
    );
  } else {
    add('pools: run -d', 'kuryr pools run -d', 'bridge run -d', [['null remote driver run -d', 'the null remote driver']], (f) =>
      `Docker waits for no Neutron call (the pool hands its port out in memory; CreateEndpoint writes the port's device_id and tags after its reply): the floor is Docker's remote-driver path, the null remote driver's \`run -d\`: ${f}.`,
    );
  }
  add('pools: rm -f', 'kuryr pools rm -f', 'bridge rm -f', [['null remote driver rm -f', 'the null remote driver']], (f) =>
    `Docker waits for no Neutron call (the port goes back to the pool after the reply): the floor is Docker's remote-driver path, the null remote driver's \`rm -f\`: ${f}.`,
  );
  add('no pools: run -d', 'kuryr run -d', 'bridge run -d', [['bridge run -d', 'bridge'], ['floor: bound port create', 'a bound `POST ports`']], (f) => `RequestAddress waits for the bound port's create: ${f}.`);
  add('no pools: rm -f', 'kuryr rm -f', 'bridge rm -f', [['bridge rm -f', 'bridge'], ['floor: port delete', '`DELETE ports/<id>`']], (f) =>
    `By default ReleaseAddress answers once Neutron has deleted the port, as Kuryr does (the port is gone when \`docker rm\` returns). ${f}. With \`[DEFAULT] delete_ports_after_reply = true\` it answers first and deletes after: see that row.`,
  );
  add('no pools, delete after reply: rm -f', 'kuryr delete after reply rm -f', 'bridge rm -f', [['null remote driver rm -f', 'the null remote driver']], (f) =>
    `Docker waits for no Neutron call (the DELETE runs after the reply; a \`--ip\` of that address or a \`network rm\` right after waits for it in the daemon): the floor is Docker's remote-driver path, the null remote driver's \`rm -f\`: ${f}.`,
  );
  const netCreate = (key: string, kuryr: string): void => {
    const footprint = med('floor: Kuryr footprint network create') !== undefined;
    const b = med('bridge network create');
    const ns = med('floor: network + subnet create');
    const least = footprint && fin(b) && fin(ns) ? ` Even the two creates no design can skip (the network, then its subnet: ${ms(ns)}) make ${r2((b + ns) / b)}× bridge on this machine.` : '';
    add(key, kuryr, 'bridge network create', [['bridge network create', 'bridge'], footprint ? ['floor: Kuryr footprint network create', 'the Kuryr footprint'] : ['floor: network + subnet create', 'network + subnet create']], (f) =>
      `6 Neutron calls on this Neutron (Zed), one after another: 5 writes (subnet pool, network, the network's tags \`PUT\`, subnet, the subnet's tag \`PUT\`) and the pool's duplicate check (\`GET subnetpools?name\`), which Kuryr's footprint needs for a host to switch daemons${footprint ? ', timed straight against Neutron' : '; this run timed only network + subnet create straight against Neutron'}. Neutron runs ${workersOf(r)} API workers on the same ${r.meta?.cpus ?? '?'} cores as Docker, OVN, PostgreSQL and Keystone. ${f}.${least}`,
    );
  };
  netCreate('no pools: network create', 'kuryr network create');
  netCreate('pools: network create', 'kuryr pools network create');
  add('no pools: network rm', 'kuryr network rm', 'bridge network rm', [['bridge network rm', 'bridge'], ['floor: network delete', '`DELETE networks/<id>`']], (f) => `${f}.`);
  add('pools: network rm', 'kuryr pools network rm', 'bridge network rm', [['bridge network rm', 'bridge'], ['floor: network delete', '`DELETE networks/<id>`']], (f) => `${f}.`);
  return out;
}

/** The N-at-once burst with pools: a start waits for a port create when no pool port is free (and, with mark_hand_outs, for the mark otherwise); Neutron's workers serve them at most that many at a time. */
function burstBound(r: Results): TargetBound | undefined {
  const c = r.concurrency;
  const p = c?.pools;
  const s = r.latency?.summaries ?? {};
  if (!c || !p) return undefined;
  const n = c.containers;
  const free = Math.min(n, Math.max(0, p.freePortsBeforeBurst));
  const marked = handOutMarked(r);
  const put = marked ? s['floor: port update']?.median : 0;
  const create = s['floor: bound port create']?.median;
  if ((free > 0 && !fin(put)) || (free < n && !fin(create))) return undefined;
  const work = (free > 0 ? free * put! : 0) + (free < n ? (n - free) * create! : 0);
  const w = workersOf(r);
  const neutronWall = work / w;
  const dockerWall = c.bridge.parallelStartsMs;
  const ratio = r2(Math.max(neutronWall, dockerWall) / p.serialStartsMs);
  const calls = [
    free > 0 ? (marked ? `${free} guarded \`PUT ports/<id>\` (the hand-out mark, ${ms(put)} median straight against Neutron)` : `${free} pool ports handed out with no Neutron call`) : '',
    free < n ? `${n - free} bound \`POST ports\` (no free pool port when the burst began: ${ms(create)} median)` : '',
  ]
    .filter(Boolean)
    .join(' and ');
  return {
    cell: `≥ ${ratio}`,
    why:
      `${marked ? `Each of the ${n} starts waits for one Neutron call` : `Of the ${n} starts`}: ${calls}, ${ms(work)} of Neutron work one at a time. Neutron runs ${w} API workers on the ${r.meta?.cpus ?? '?'} cores it shares with Docker, containerd, OVN, PostgreSQL and Keystone, so the burst cannot take less than ${ms(neutronWall)}; ` +
      `Docker alone (bridge driver) takes ${ms(dockerWall)} for ${n} starts at once. Against the ${ms(p.serialStartsMs)} of the ${n} serial starts that is a ratio of at least ${ratio}; kuryr-ts measured ${p.parallelOverSerial} (${ms(p.parallelStartsMs)}). What lies above the bound is Docker's, the daemon's, OVS's and Neutron's work for the ${n} starts sharing those ${r.meta?.cpus ?? '?'} cores (this bench does not split it further).`,
  };
}

/** RSS change over the second half of the operations: last reading minus the reading when half of them were done. */
export function memoryGrowth(t: TimelinePoint[]): number {
  if (t.length === 0) return 0;
  const total = t[t.length - 1]!.ops;
  const mid = t.find((p) => p.ops >= total / 2) ?? t[0]!;
  return Math.round((t[t.length - 1]!.rssMB - mid.rssMB) * 10) / 10;
}

/** What the run's idle Node.js with the daemon's dependencies loaded and did (runs before it was recorded made one `fetch`). */
export function dependencyLoads(m: Pick<NonNullable<Results['memory']>, 'nodeWithDependenciesLoads'>): string {
  return m.nodeWithDependenciesLoads ?? "one `fetch` made (fastify, pino, commander, yaml, Node's bundled undici)";
}

/** The RSS rows: an idle Node.js of the same binary with the daemon's dependencies loaded (bench/meta.ts); with the daemon's timeline, how it changed over the second half of its operations; with the daemon's own split (newer runs), what the change after the run is made of. */
function rssBound(r: Results, fresh: ProcReading, final: ProcReading, settled: ProcReading | undefined, timeline?: TimelinePoint[]): TargetBound | undefined {
  const m = r.memory;
  if (!m || !fin(m.nodeWithDependenciesMB) || m.nodeWithDependenciesMB <= 0) return undefined;
  const [a, b, c] = [fresh.rssMB, final.rssMB, settled?.rssMB];
  const split = (x: ProcReading['v8'], y: ProcReading['v8']): string =>
    x && y
      ? ` Of that change, the daemon's own account (GET /kuryr/stats): V8's heap in use ${x.heapUsedMB} → ${y.heapUsedMB} MB (${signed(r2(y.heapUsedMB - x.heapUsedMB))}), of which compiled code ${x.codeMB} → ${y.codeMB} MB (${signed(r2(y.codeMB - x.codeMB))}); heap reserved ${x.heapTotalMB} → ${y.heapTotalMB} MB; ` +
        `the rest is outside V8's objects (the pages of the node binary and its libraries that the run's code paths touched, malloc). Idle collections so far: ${y.idleCollections}.`
      : '';
  const flat = timeline && timeline.length > 1 && Math.abs(memoryGrowth(timeline)) <= 1;
  const warmUp = flat ? ' What stays is the warm-up of the code paths the run used first (compiled code, inline caches, first-use caches), kept once: the second half of the run added no more than 1 MB.' : '';
  return {
    cell: `≥ ${m.nodeWithDependenciesMB} MB idle`,
    why:
      `An idle \`node\` of the same binary is ${m.nodeBaselineMB} MB; with the daemon's runtime dependencies imported and ${dependencyLoads(m)} it is ${m.nodeWithDependenciesMB} MB before any of the daemon's code runs. ` +
      `The daemon: ${a} MB idle (${r2(a - m.nodeWithDependenciesMB)} MB of its own), ${b} MB at the end of the run (${b - a >= 0 ? '+' : ''}${r2(b - a)} MB)` +
      (timeline && timeline.length > 1 ? `, ${signed(memoryGrowth(timeline))} MB of it over the second half of its ${timeline[timeline.length - 1]!.ops} operations` : '') +
      (fin(c) ? `; ${c} MB after 30 s idle (${signed(r2(c - a))} MB against fresh).` : '.') +
      split(fresh.v8, (settled ?? final).v8) +
      warmUp,
  };
}

interface Row {
  cells: TargetRow;
  bound?: TargetBound;
}

function rowsOf(r: Results): Row[] {
  const rows: Row[] = [];
  const l = r.latency;
  if (l?.ratios['rm -f']) {
    const s = l.summaries;
    const lr = l.ratios;
    const bounds = latencyBounds(r);
    const op = (label: string, key: string, ratio: string, boundKey: string, target: number | undefined): void => {
      const q = lr[ratio];
      if (!q) return;
      const nullKey = key.replace(/^kuryr (pools )?/, 'null remote driver ');
      const overNull = q.overNull ?? (s[nullKey] ? Math.round(((s[key]?.median ?? NaN) / s[nullKey]!.median) * 100) / 100 : undefined);
      const bound = bounds[boundKey];
      rows.push({
        cells: [label, ms(s[key]?.median), x(q.kuryrOverBridge), x(overNull), bound?.cell ?? '–', target === undefined ? '–' : `≤ ${target}× bridge`, target === undefined ? '–' : yes(q.kuryrOverBridge <= target)],
        ...(bound ? { bound } : {}),
      });
    };
    op('pools: run -d (median)', 'kuryr pools run -d', 'run -d, port pools', 'pools: run -d', 1.2);
    op('pools: rm -f', 'kuryr pools rm -f', 'rm -f, port pools', 'pools: rm -f', 1.3);
    op('pools: network create', 'kuryr pools network create', 'network create, port pools', 'pools: network create', undefined);
    op('pools: network rm', 'kuryr pools network rm', 'network rm, port pools', 'pools: network rm', undefined);
    op('no pools: run -d', 'kuryr run -d', 'run -d', 'no pools: run -d', undefined);
    op('no pools: rm -f', 'kuryr rm -f', 'rm -f', 'no pools: rm -f', 2);
    op('no pools, `delete_ports_after_reply`: rm -f', 'kuryr delete after reply rm -f', 'rm -f, delete after reply', 'no pools, delete after reply: rm -f', 2);
    op('no pools: network create', 'kuryr network create', 'network create', 'no pools: network create', 2.5);
    op('no pools: network rm', 'kuryr network rm', 'network rm', 'no pools: network rm', undefined);
  }
  const c = r.concurrency;
  if (c?.pools) {
    const p = c.pools;
    const fails = p.failures.length;
    const bound = burstBound(r);
    rows.push({
      cells: [`pools: ${c.containers} at once / ${c.containers} serial`, `${p.parallelOverSerial}`, `bridge ${c.bridge.parallelOverSerial}`, '–', bound?.cell ?? '–', '≤ 0.6', yes(p.parallelOverSerial <= 0.6)],
      ...(bound ? { bound } : {}),
    });
    rows.push({ cells: ['pools: failures, duplicate IPs', `${fails}, ${p.duplicateIpsDocker}`, '', '', '', '0', yes(fails === 0 && p.duplicateIpsDocker === 0 && p.addressesSeen === c.containers)] });
    rows.push({ cells: [`no pools: ${c.containers} at once / ${c.containers} serial`, `${c.parallelOverSerial}`, `bridge ${c.bridge.parallelOverSerial}`, '–', '–', '–', '–'] });
  }
  const m = r.memory;
  if (m?.pools) {
    for (const [label, fresh, final, settled, timeline] of [
      ['no pools', m.fresh, m.final, m.settled, m.timeline],
      ['pools', m.pools.fresh, m.pools.final, m.pools.settled, undefined],
    ] as const) {
      const bound = rssBound(r, fresh, final, settled, timeline);
      // No growth: what the run leaves once the daemon is idle again (older runs: at the end of the run).
      const after = settled ?? final;
      rows.push({
        cells: [
          `${label}: daemon RSS idle → end of run${settled ? ' → 30 s later' : ''}`,
          `${fresh.rssMB} → ${final.rssMB}${settled ? ` → ${settled.rssMB}` : ''} MB`,
          '',
          '',
          bound?.cell ?? '–',
          '≤ 70 MB idle, no growth',
          yes(fresh.rssMB <= 70 && after.rssMB <= fresh.rssMB + 5),
        ],
        ...(bound ? { bound } : {}),
      });
    }
  }
  for (const row of r.callsPools ?? []) {
    rows.push({ cells: [`pools: Neutron calls of ${row.op} (Docker waits / after the reply)`, `${Math.max(0, ...row.foreground)} / ${Math.max(0, ...row.background)}`, '', '', '', '–', row.failures === 0 ? '–' : `${row.failures} failed`] });
  }
  return rows;
}

export function targetRows(r: Results): TargetRow[] {
  return rowsOf(r).map((row) => row.cells);
}

/** Each missed target whose bound the run measured: the row's cells and what bounds it. */
export function missedTargetBounds(r: Results): Array<{ row: TargetRow; bound?: TargetBound }> {
  return rowsOf(r)
    .filter((row) => row.cells[6] === '❌')
    .map((row) => ({ row: row.cells, ...(row.bound ? { bound: row.bound } : {}) }));
}

/** The floor of `docker run -d` with pools when Docker waited for the guarded mark (null remote driver + the mark), × bridge; undefined when it did not, or the run has no such measure. */
export function poolsRunFloor(r: Results): string | undefined {
  return handOutMarked(r) ? latencyBounds(r)['pools: run -d']?.cell : undefined;
}
