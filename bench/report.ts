/**
 * The bench's outputs: <stamp>.json (everything measured), <stamp>.md (tables,
 * the Neutron call sequences, and why each missed target is missed), two SVG
 * charts drawn here (latency distributions; daemon memory over operations),
 * latest.md (a copy of the newest report), and a plain summary for the console.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcReading } from './lab.js';
import { dependencyLoads, handOutMarked, memoryGrowth, missedTargetBounds, poolHandOutWaits, poolsRunFloor, targetRows } from './targets.js';
import type { Summary } from './stats.js';

export interface CallRow {
  op: string;
  calls: number[];
  daemonCalls: number[];
  writes: number;
  max: number;
  kuryrLibnetwork: string;
  target?: number;
  met?: boolean;
  failures: number;
  plugin: Record<string, number>;
  sequence: string[];
  neutronBusyMs: number;
}

export interface TimelinePoint {
  t: number;
  ops: number;
  phase: string;
  rssMB: number;
  fds: number;
}

export type ShapeStats = { shape: string } & Summary;
export interface NeutronWindow {
  calls: number;
  busyMs: number;
  /** The most of these calls in flight at one moment, in all and per shape (runs before 2026-12-07 did not record it). */
  maxInFlight?: number;
  maxInFlightByShape?: Record<string, number>;
  byShape: ShapeStats[];
}

export interface Results {
  meta: {
    date: string;
    commit: string;
    uncommittedSrc: string[];
    node: string;
    docker: string;
    cpus: number;
    loadavgStart: number[];
    loadavgEnd: number[];
    durationS: number;
    distStale: boolean;
    params: Record<string, unknown>;
  };
  timeline?: TimelinePoint[];
  memory?: {
    fresh: ProcReading;
    final: ProcReading;
    operations: number;
    nodeBaselineMB: number;
    nodeWithDependenciesMB: number;
    /** what that idle Node.js loaded and did (newer runs; older ones made one `fetch`) */
    nodeWithDependenciesLoads?: string;
    timeline: TimelinePoint[];
    /** newer runs: the port-pool daemon, idle once started and at the end of the run (and settled, as below) */
    pools?: { fresh: ProcReading; final: ProcReading; settled?: ProcReading };
    /** newer runs: 30 s after the end of the run, idle */
    settled?: ProcReading;
  };
  neutronByCall?: ShapeStats[];
  startup: { neutronCalls: number; shapes: string[]; proc: ProcReading };
  calls?: CallRow[];
  /** newer runs: Neutron calls per operation on the port-pool daemon (its own count) */
  callsPools?: Array<{ op: string; foreground: number[]; background: number[]; failures: number }>;
  latency?: {
    summaries: Record<string, Summary>;
    samples: Record<string, number[]>;
    neutronCallsPerOp: Record<string, { min: number; max: number }>;
    neutronBusyMs: Record<string, Summary>;
    /** the daemon's Neutron calls during the latency phase: one operation at a time, so no queueing in Neutron */
    neutronByCall: ShapeStats[];
    /** per kuryr operation: median ms the daemon spent in each libnetwork method (its own clock) */
    pluginMs: Record<string, Record<string, number>>;
    /** kuryr over bridge, the Neutron floor's ratio (or the null driver's, with pools), and (newer runs) kuryr over the null remote driver */
    ratios: Record<string, { kuryrOverBridge: number; floorRatio: number; overNull?: number }>;
    failures: string[];
  };
  concurrency?: {
    containers: number;
    serialStartsMs: number;
    serialStartFailures: string[];
    parallelStartsMs: number;
    parallelStartFailures: string[];
    parallelOverSerial: number;
    parallelStartLatency: Summary;
    parallelRemovalMs: number;
    parallelRemovalFailures: string[];
    parallelRemovalLatency: Summary;
    removalAfterSerialMs: number;
    removalAfterSerialFailures: string[];
    addressesSeen: number;
    duplicateIpsDocker: number;
    neutronPortsWhileUp: number;
    duplicateIpsNeutron: number;
    neutronPortsLeftAfterRemoval: number;
    attachWithNPortsUpMs: Summary;
    daemonErrors: number;
    daemonNeutronCalls: number;
    maxNeutronInFlight: number;
    neutronDuringStarts: NeutronWindow;
    neutronDuringRemoval: NeutronWindow;
    bridge: { serialStartsMs: number; parallelStartsMs: number; parallelOverSerial: number; parallelRemovalMs: number; failures: string[] };
    proc: { idle: ProcReading; peak: ProcReading; afterRemoval: ProcReading; settled: ProcReading };
    samples: Array<{ t: number; phase: string; rssMB: number; fds: number; inFlight: number }>;
    /** the same bursts on the port-pool daemon (newer runs) */
    pools?: {
      serialStartsMs: number;
      parallelStartsMs: number;
      parallelOverSerial: number;
      parallelStartLatency: Summary;
      removalAfterSerialMs: number;
      parallelRemovalMs: number;
      parallelRemovalLatency: Summary;
      /** free pool ports when the burst of starts began */
      freePortsBeforeBurst: number;
      failures: string[];
      addressesSeen: number;
      duplicateIpsDocker: number;
      /** the daemon's own count: what Docker waited for, and what ran after the replies */
      foregroundNeutronCalls: number;
      backgroundNeutronCalls: number;
      proc: { idle: ProcReading; peak: ProcReading; settled: ProcReading };
    };
  };
  scale?: {
    networks: number;
    networksAsked: number;
    networkCreateFirstMs: number;
    networkCreateLastMs: number;
    networkCreateFirst5: Summary;
    networkCreateLast5: Summary;
    networkCreateCallsFirst: number;
    networkCreateCallsLast: number;
    networkDeleteFirstMs: number;
    networkDeleteLastMs: number;
    attachDetachWith1Network: { attach: Summary; detach: Summary };
    attachDetachWithAllNetworks: { attach: Summary; detach: Summary };
    cyclesAsked: number;
    cyclesDone: number;
    cycleFailures: number;
    cycleErrors: string[];
    cappedByBudget: boolean;
    cycleWallS: number;
    cyclesPerS: number;
    neutronDuringCycles: NeutronWindow;
    operations: number;
    proc: { afterOps: ProcReading; afterCleanup: ProcReading; settled: ProcReading };
    phaseS: number;
  };
  cleanup: { leaks: { networks: number; subnetpools: number; ports: number }; notes: string[] };
  error?: string;
}

const ms = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);
const yes = (ok: boolean): string => (ok ? '✅' : '❌');

const MARKED_HAND_OUT = 'With port pools, RequestAddress waits for one: the guarded hand-out mark (`PUT ports/<id>` with `If-Match`), so that a pool port is never handed out twice.';

/** Why a call-count target is missed: what bounds each operation (the Kuryr footprint kuryr-ts must keep for drop-in compatibility). */
const BOUNDS: Record<string, string> = {
  'network create':
    '5 writes + 1 read on this Neutron. The writes are the Kuryr footprint, which kuryr-ts keeps so that a host can switch daemons: the subnet pool `kuryrPool-<cidr>` (Docker\'s PoolID is its uuid, as in Kuryr), the network, its two `kuryr.net.uuid.*` tags (one `PUT …/tags`), the subnet, and the subnet\'s `<PoolID>` tag. The read is the duplicate check after creating the pool (`GET subnetpools?name`), which keeps concurrent and multi-host creates converging on one pool (Kuryr bug C14); a CIDR the daemon has not seen is created first instead of looked up first, and CreateNetwork skips its idempotency read when its pools were just made by this daemon (docs/compatibility.md). The lab\'s Neutron (Zed) takes no tags in a create body, so each tag set is a write of its own: with the `tag-creation` extension (Neutron 2024.2+, probed at start) the same footprint takes 4 calls — proved through a shim in test/integration/tag-creation.test.ts. Below 6 on Zed means dropping a tag Kuryr reads, or the duplicate check.',
  'dual-stack network create': 'As network create, per address family: two pools (each created, then checked for duplicates), one network and its tags, two subnets in one bulk create, two subnet tags: 7 writes + 2 reads. With tags in the creates (`tag-creation`): 6.',
  'network rm':
    '`GET networks/<id>` (fresh tags: another host may share the network — Kuryr bug C6 — so the cache cannot be trusted), `DELETE networks/<id>` (its subnets go with it), `DELETE subnetpools/<id>` (the pool kuryr made). Other lookups are answered from the daemon\'s cache of what it made.',
  'dual-stack network rm': 'As network rm, with one pool per address family.',
  'docker run -d (attach)':
    'RequestAddress creates the port already bound (1 write); CreateEndpoint plugs the host side and answers, then sets `device_id` and the endpoint tags (2 writes, after the reply: counted here, not waited for). ' + MARKED_HAND_OUT + ' Kuryr needs 13.',
  'network connect': 'Same calls as attach.',
  'docker rm -f (detach)': 'DeleteEndpoint unplugs only (no Neutron call); ReleaseAddress deletes the port (1 call).',
  'network disconnect': 'Same calls as detach.',
  'dual-stack docker run -d': 'One dual-stack port: created for the first address, the second address added to it (a port update), then device_id and tags.',
  'dual-stack docker rm -f': 'The first ReleaseAddress removes one address (port update), the second deletes the port.',
};

/** BOUNDS[op], for what this run measured (a pool hand-out Docker waited no Neutron call for). */
function boundOf(op: string, r: Results): string {
  const text = BOUNDS[op] ?? '';
  if (op !== 'docker run -d (attach)' || handOutMarked(r) || poolHandOutWaits(r) === undefined) return text;
  return text.replace(MARKED_HAND_OUT, 'With port pools, RequestAddress waits for none: the pool hands a free port out in memory, and CreateEndpoint writes its device_id and tags after the reply.');
}

function callsTable(rows: CallRow[]): string {
  const out = ['| Docker operation | Neutron calls (proxy, per repetition) | of which writes | daemon\'s own count | Kuryr-libnetwork | target | met |', '|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    out.push(
      `| ${r.op} | ${r.calls.join(' / ')} | ${r.writes} | ${r.daemonCalls.join(' / ')} | ${r.kuryrLibnetwork} | ${r.target !== undefined ? `≤ ${r.target}` : '–'} | ${r.met === undefined ? '–' : yes(r.met)}${r.failures ? ` (${r.failures} failed)` : ''} |`,
    );
  }
  return out.join('\n');
}

function latencyTable(l: NonNullable<Results['latency']>): string {
  const out = ['| measured | n | median | p95 | min | max | Neutron calls inside | Neutron busy (median) |', '|---|---|---|---|---|---|---|---|'];
  for (const [k, s] of Object.entries(l.summaries)) {
    const c = l.neutronCallsPerOp[k];
    const b = l.neutronBusyMs[k];
    out.push(`| ${k} | ${s.n} | ${ms(s.median)} | ${ms(s.p95)} | ${ms(s.min)} | ${ms(s.max)} | ${c ? (c.min === c.max ? c.min : `${c.min}–${c.max}`) : ''} | ${b ? ms(b.median) : ''} |`);
  }
  return out.join('\n');
}

/** The port creates among a burst's Neutron calls, and the most of them in flight at once (runs that recorded it). */
function portCreatesOfStarts(w: NeutronWindow): { creates: ShapeStats | undefined; most: number | undefined } {
  return { creates: w.byShape.find((x) => x.shape === 'POST ports'), most: w.maxInFlightByShape?.['POST ports'] };
}

function shapeTable(rows: ShapeStats[], title: string): string {
  const out = [`| ${title} | n | median | p95 | max | total |`, '|---|---|---|---|---|---|'];
  for (const r of rows.slice(0, 14)) out.push(`| \`${r.shape}\` | ${r.n} | ${ms(r.median)} | ${ms(r.p95)} | ${ms(r.max)} | ${ms(r.n * r.mean)} |`);
  return out.join('\n');
}

// ------------------------------------------------------------------ charts

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Strip plot of latency samples, one row per series: dots, median (thick), p95 (dashed). */
export function latencySvg(l: NonNullable<Results['latency']>): string {
  const series = [
    ['kuryr run -d + rm -f', '#c0392b'],
    ['bridge run -d + rm -f', '#2471a3'],
    ['floor: bound port create + delete', '#7d3c98'],
    ['kuryr network create + rm', '#c0392b'],
    ['bridge network create + rm', '#2471a3'],
    ['floor: network + subnet create + delete', '#7d3c98'],
  ].filter(([k]) => (l.samples[k!] ?? []).length > 0) as Array<[string, string]>;
  const W = 900;
  const left = 270;
  const right = 30;
  const rowH = 46;
  const top = 40;
  const H = top + rowH * series.length + 50;
  const all = series.flatMap(([k]) => l.samples[k] ?? []);
  const maxV = Math.max(1, ...all);
  const step = niceStep(maxV / 6);
  const xMax = Math.ceil(maxV / step) * step;
  const x = (v: number): number => left + ((W - left - right) * v) / xMax;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">Latency per repetition (ms): kuryr-ts vs Docker bridge vs Neutron floor</text>`,
  ];
  for (let v = 0; v <= xMax; v += step) {
    parts.push(`<line x1="${x(v)}" y1="${top - 5}" x2="${x(v)}" y2="${H - 45}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(v)}" y="${H - 30}" text-anchor="middle" fill="#555">${v}</text>`);
  }
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 10}" text-anchor="middle" fill="#555">milliseconds (dots: repetitions; thick line: median; dashed: p95)</text>`);
  series.forEach(([k, color], i) => {
    const y = top + rowH * i + rowH / 2;
    const s = l.summaries[k]!;
    parts.push(`<text x="${left - 10}" y="${y + 4}" text-anchor="end">${esc(k)}</text>`);
    (l.samples[k] ?? []).forEach((v, j) => {
      const jitter = ((j * 7919) % 17) - 8;
      parts.push(`<circle cx="${x(v).toFixed(1)}" cy="${(y + jitter).toFixed(1)}" r="3" fill="${color}" fill-opacity="0.45"/>`);
    });
    parts.push(`<line x1="${x(s.median)}" y1="${y - 14}" x2="${x(s.median)}" y2="${y + 14}" stroke="black" stroke-width="3"/>`);
    parts.push(`<line x1="${x(s.p95)}" y1="${y - 12}" x2="${x(s.p95)}" y2="${y + 12}" stroke="black" stroke-width="1.5" stroke-dasharray="3,2"/>`);
    parts.push(`<text x="${x(s.median) + 4}" y="${y - 12}" font-size="10" fill="#333">${Math.round(s.median)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Daemon RSS and open fds over the whole run, with the phases marked and the operations done so far. */
export function memorySvg(series: TimelinePoint[], budgetMB: number, baselineMB: number): string {
  const W = 900;
  const H = 340;
  const left = 60;
  const right = 60;
  const top = 50;
  const bottom = 50;
  const maxT = Math.max(1, ...series.map((p) => p.t));
  const maxMB = Math.max(budgetMB * 1.15, ...series.map((p) => p.rssMB));
  const maxFd = Math.max(10, ...series.map((p) => p.fds)) * 1.2;
  const x = (v: number): number => left + ((W - left - right) * v) / maxT;
  const yMB = (v: number): number => H - bottom - ((H - top - bottom) * v) / maxMB;
  const yFd = (v: number): number => H - bottom - ((H - top - bottom) * v) / maxFd;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">kuryr-ts daemon (bench instance): RSS and open fds over the run</text>`,
  ];
  const mbStep = niceStep(maxMB / 5);
  for (let v = 0; v <= maxMB; v += mbStep) {
    parts.push(`<line x1="${left}" y1="${yMB(v)}" x2="${W - right}" y2="${yMB(v)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${yMB(v) + 4}" text-anchor="end" fill="#2471a3">${v}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${yMB(budgetMB)}" x2="${W - right}" y2="${yMB(budgetMB)}" stroke="#c0392b" stroke-dasharray="6,3"/>`);
  parts.push(`<text x="${W - right - 4}" y="${yMB(budgetMB) - 4}" text-anchor="end" fill="#c0392b">target ${budgetMB} MB</text>`);
  if (baselineMB > 0) {
    parts.push(`<line x1="${left}" y1="${yMB(baselineMB)}" x2="${W - right}" y2="${yMB(baselineMB)}" stroke="#888" stroke-dasharray="2,3"/>`);
    parts.push(`<text x="${W - right - 4}" y="${yMB(baselineMB) - 4}" text-anchor="end" fill="#666">an idle node process: ${baselineMB} MB</text>`);
  }
  const fdStep = niceStep(maxFd / 5);
  for (let v = 0; v <= maxFd; v += fdStep) parts.push(`<text x="${W - right + 6}" y="${yFd(v) + 4}" fill="#7d3c98">${v}</text>`);
  const tStep = niceStep(maxT / 10);
  for (let v = 0; v <= maxT; v += tStep) parts.push(`<text x="${x(v)}" y="${H - bottom + 16}" text-anchor="middle" fill="#555">${v}</text>`);
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 12}" text-anchor="middle" fill="#555">seconds into the run (labels: phase, operations done when it began)</text>`);
  parts.push(`<text x="${left}" y="${top - 20}" fill="#2471a3">RSS (MB)</text><text x="${W - right}" y="${top - 20}" text-anchor="end" fill="#7d3c98">open fds (dashed)</text>`);
  let last = '';
  for (const p of series) {
    if (p.phase === last) continue;
    last = p.phase;
    parts.push(`<line x1="${x(p.t)}" y1="${top - 5}" x2="${x(p.t)}" y2="${H - bottom}" stroke="#bbb"/>`);
    parts.push(`<text x="${x(p.t) + 3}" y="${top + 5}" font-size="10" fill="#444">${esc(p.phase)} (${p.ops})</text>`);
  }
  const path = (f: (p: TimelinePoint) => number): string => series.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${f(p).toFixed(1)}`).join(' ');
  parts.push(`<path d="${path((p) => yMB(p.rssMB))}" fill="none" stroke="#2471a3" stroke-width="2"/>`);
  parts.push(`<path d="${path((p) => yFd(p.fds))}" fill="none" stroke="#7d3c98" stroke-width="1.5" stroke-dasharray="4,2"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-9)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

// ------------------------------------------------------------------ report

export function summaryRows(r: Results): string[][] {
  const rows: string[][] = [['measure', 'kuryr-ts', 'compared with', 'target', 'met']];
  for (const c of r.calls ?? []) {
    if (c.target === undefined) continue;
    rows.push([`Neutron calls: ${c.op}`, String(c.max), `Kuryr-libnetwork ${c.kuryrLibnetwork}`, `≤ ${c.target}`, yes(!!c.met)]);
  }
  const l = r.latency;
  if (l) {
    const s = l.summaries;
    const lr = l.ratios;
    const pair = (k: string): string => (s[k] ? `${ms(s[k].median)} / ${ms(s[k].p95)}` : '–');
    rows.push(['network create + rm, median / p95', pair('kuryr network create + rm'), `bridge ${pair('bridge network create + rm')}`, '–', '–']);
    rows.push(['  ratio kuryr/bridge (Neutron floor ratio)', `${lr['network create + rm']?.kuryrOverBridge}×`, `floor ${lr['network create + rm']?.floorRatio}× (bridge + network/subnet create/delete)`, 'close to floor', '–']);
    rows.push(['run -d + rm -f, median / p95', pair('kuryr run -d + rm -f'), `bridge ${pair('bridge run -d + rm -f')}`, '–', '–']);
    rows.push(['  ratio kuryr/bridge (Neutron floor ratio)', `${lr['run -d + rm -f']?.kuryrOverBridge}×`, `floor ${lr['run -d + rm -f']?.floorRatio}× (bridge + bound port create/delete)`, 'close to floor', '–']);
    rows.push(['  run -d alone: ratio kuryr/bridge', `${lr['run -d']?.kuryrOverBridge}×`, `floor ${lr['run -d']?.floorRatio}× (bridge + bound port create)`, 'close to floor', '–']);
    const pools = lr['run -d, port pools'];
    const markFloor = poolsRunFloor(r);
    if (pools) {
      rows.push(['run -d with port pools, median / p95', pair('kuryr pools run -d'), `bridge ${pair('bridge run -d')}`, '–', '–']);
      rows.push([
        '  ratio kuryr with port pools/bridge',
        `${pools.kuryrOverBridge}×`,
        `a remote driver doing nothing but a veth pair: ${pools.floorRatio}× (${pair('null remote driver run -d')})${markFloor ? `; with the guarded hand-out mark (\`PUT ports/<id>\`): ${markFloor}` : ''}`,
        '≤ 1.3×',
        yes(pools.kuryrOverBridge <= 1.3),
      ]);
    }
  }
  const c = r.concurrency;
  if (c) {
    const fails = c.parallelStartFailures.length + c.parallelRemovalFailures.length + c.removalAfterSerialFailures.length;
    rows.push([`${c.containers} at once: failures (start + rm)`, String(fails), '', '0', yes(fails === 0)]);
    rows.push(['  duplicate IPs (Docker / Neutron)', `${c.duplicateIpsDocker} / ${c.duplicateIpsNeutron}`, `${c.addressesSeen} addresses, ${c.neutronPortsWhileUp} ports`, '0', yes(c.duplicateIpsDocker + c.duplicateIpsNeutron === 0 && c.addressesSeen === c.containers)]);
    // Runs before the port creates' overlap was recorded kept a target of their own (≤ 0.3) for it.
    const older = c.neutronDuringStarts.maxInFlightByShape === undefined;
    rows.push(['  wall time at once / serial', `${c.parallelOverSerial} (${ms(c.parallelStartsMs)} vs ${ms(c.serialStartsMs)})`, `bridge driver: ${c.bridge.parallelOverSerial} (${ms(c.bridge.parallelStartsMs)} vs ${ms(c.bridge.serialStartsMs)})`, older ? '≤ 0.3' : '–', older ? yes(c.parallelOverSerial <= 0.3) : '–']);
    // Without pools each start waits for its port's create, and Docker makes one endpoint per network at a time (§3).
    const { creates, most } = portCreatesOfStarts(c.neutronDuringStarts);
    if (creates && most !== undefined) {
      rows.push([
        "  the starts' port creates: most in flight at once; their time summed",
        `${most}; ${ms(creates.n * creates.mean)} of the ${ms(c.parallelStartsMs)}`,
        'Docker creates one endpoint per network at a time (§3)',
        '–',
        '–',
      ]);
    }
    rows.push(['  removal at once', ms(c.parallelRemovalMs), `p95 per command ${ms(c.parallelRemovalLatency.p95)}`, 'no stuck request', yes(c.parallelRemovalFailures.length === 0 && c.daemonErrors === 0)]);
    rows.push([
      '  daemon fds / RSS: idle → peak → settled',
      `${c.proc.idle.fds} → ${c.proc.peak.fds} → ${c.proc.settled.fds} fds; ${c.proc.idle.rssMB} → ${c.proc.peak.rssMB} → ${c.proc.settled.rssMB} MB`,
      '',
      'back to idle',
      yes(c.proc.settled.fds <= c.proc.idle.fds + 2 && c.proc.settled.rssMB <= c.proc.idle.rssMB * 1.25 + 5),
    ]);
  }
  const mem = r.memory;
  if (mem) {
    const g = memoryGrowth(mem.timeline);
    const peak = Math.max(mem.final.rssMB, ...mem.timeline.map((p) => p.rssMB));
    rows.push([
      `daemon RSS: fresh → after ${mem.operations} operations (peak)`,
      `${mem.fresh.rssMB} → ${mem.final.rssMB} MB (${peak} MB)`,
      `second half of the run: ${g >= 0 ? '+' : ''}${g} MB; idle node: ${mem.nodeBaselineMB} MB bare, ${mem.nodeWithDependenciesMB} MB with the daemon's dependencies loaded`,
      '≤ 80 MB, no growth',
      yes(peak <= 80 && g <= 5),
    ]);
  }
  const sc = r.scale;
  if (sc) {
    rows.push([
      `network create: 1st vs ${sc.networks}th (median of first 5 / last 5)`,
      `${ms(sc.networkCreateFirst5.median)} vs ${ms(sc.networkCreateLast5.median)}`,
      `${sc.networkCreateCallsFirst} vs ${sc.networkCreateCallsLast} Neutron calls`,
      'no growth',
      yes(sc.networkCreateLast5.median <= sc.networkCreateFirst5.median * 1.3 && sc.networkCreateCallsLast <= sc.networkCreateCallsFirst),
    ]);
    rows.push([
      `attach+detach: 1 network vs ${sc.networks} networks (median)`,
      `${ms(sc.attachDetachWith1Network.attach.median + sc.attachDetachWith1Network.detach.median)} vs ${ms(sc.attachDetachWithAllNetworks.attach.median + sc.attachDetachWithAllNetworks.detach.median)}`,
      'plugin protocol, serial',
      'no growth',
      yes(sc.attachDetachWithAllNetworks.attach.median + sc.attachDetachWithAllNetworks.detach.median <= 1.3 * (sc.attachDetachWith1Network.attach.median + sc.attachDetachWith1Network.detach.median)),
    ]);
  }
  const lk = r.cleanup.leaks;
  rows.push(['Neutron leftovers after cleanup', `${lk.networks} networks, ${lk.subnetpools} pools, ${lk.ports} ports`, '', '0', yes(lk.networks + lk.subnetpools + lk.ports === 0)]);
  return rows;
}

const mdTable = (rows: string[][]): string => [`| ${rows[0]!.join(' | ')} |`, `|${rows[0]!.map(() => '---').join('|')}|`, ...rows.slice(1).map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function markdown(r: Results, stamp: string): string {
  const m = r.meta;
  const out: string[] = [];
  out.push(`# kuryr-ts benchmark ${m.date.slice(0, 16).replace('T', ' ')} UTC`, '');
  out.push(
    `Code: commit \`${m.commit}\`${m.uncommittedSrc.length ? ` plus uncommitted changes in ${m.uncommittedSrc.length} files of the daemon's src/ (other developers' work in progress: ${m.uncommittedSrc.map((f) => `\`${f.slice(3)}\``).join(', ')})` : ''}. ` +
      `${m.distStale ? '**dist/ was older than src/ (the daemon measured is the last build).** ' : ''}Docker ${m.docker}, Node ${m.node}, ${m.cpus} CPUs, load average ${m.loadavgStart.join(' ')} at the start and ${m.loadavgEnd?.join(' ')} at the end (the machine is shared), run time ${Math.round(m.durationS)} s. ` +
      'Lab: Neutron (Zed, ML2/OVN, 2 API workers) behind Keystone, OVS userspace datapath, all on this machine. ' +
      'The bench starts its own kuryr daemon (driver `kbench`), whose Neutron endpoint is a counting proxy: every number of Neutron calls below is counted outside the daemon, and compared with the daemon\'s own counter (`GET /kuryr/stats`).',
    '',
  );
  if (r.error) out.push('**The run failed:**', '', '```', r.error, '```', '');
  out.push('## Summary', '', mdTable(summaryRows(r)), '');
  const targets = targetRows(r);
  if (targets.length > 0) {
    out.push(
      '## Targets, with and without port pools',
      '',
      'Each kuryr median against the same operation on Docker\'s bridge driver and on the null remote driver (a plugin that only makes a veth pair), both from this run. ' +
        'The bound is what the same run measured for the work no design keeping Kuryr\'s behaviour can skip (Docker\'s own path, the Neutron calls Docker must wait for timed straight against Neutron, an idle Node.js), as a ratio to bridge where the target is one.',
      '',
      mdTable([['measure', 'kuryr-ts', '× bridge', '× null driver', 'bound (same run)', 'target', 'met'], ...targets]),
      '',
    );
    const missed = missedTargetBounds(r);
    if (missed.length > 0) {
      out.push('### What bounds each missed target', '');
      for (const { row, bound } of missed) {
        const vsBridge = row[2].endsWith('×') ? `, ${row[2]} bridge` : row[2] ? `, ${row[2]}` : '';
        out.push(`- **${row[0]}** (${row[1]}${vsBridge}; target ${row[5]}${bound ? `; bound ${row[4]}` : ''}): ${bound ? bound.why : 'this run lacks the measures of its bound (the bench that made it did not take them).'}`);
      }
      out.push('');
    }
  }
  if (r.calls) {
    out.push('## 1. Neutron calls per Docker operation', '');
    out.push(
      `Each operation run alone through the Docker CLI; calls counted by the proxy between its start and the moment Neutron traffic went quiet. Kuryr-libnetwork's numbers are the reference's (§1.4: tag-capable Neutron, IPv4, \`--subnet/--gateway\` given). Startup costs ${r.startup.neutronCalls} calls once (${[...new Set(r.startup.shapes)].join(', ')}).`,
      '',
      callsTable(r.calls),
      '',
    );
    out.push('What bounds each count (where a target is missed, this is why):', '');
    for (const c of r.calls) if (BOUNDS[c.op]) out.push(`- **${c.op}** (${c.max}${c.target !== undefined ? `, target ≤ ${c.target}` : ''}): ${boundOf(c.op, r)}`);
    out.push('', '<details><summary>The calls, in order (last repetition)</summary>', '');
    for (const c of r.calls) {
      out.push(`**${c.op}** — libnetwork calls: ${Object.entries(c.plugin).map(([k, v]) => `${k}${v > 1 ? ` ×${v}` : ''}`).join(', ') || 'none'}`, '');
      out.push(...c.sequence.map((s, i) => `${i + 1}. \`${s}\``), '');
    }
    out.push('</details>', '');
  }
  const l = r.latency;
  if (l) {
    out.push('## 2. Latency', '');
    out.push(
      `${l.summaries['kuryr run -d']?.n ?? 0} repetitions, interleaved (kuryr, bridge, floor in each repetition). Times are the Docker CLI's wall time (\`docker network create\`, \`docker run -d kuryr/busybox sleep 600\`, …) on a kuryr network (\`-d kbench --ipam-driver kbench\`, IPv4 with \`--subnet/--gateway\`) and on a user-defined bridge network. ` +
        'The **Neutron floor** is measured straight against Neutron with the same token kind: a port created already bound to this host (`binding:host_id`, `device_owner`, MAC) and deleted; a network plus subnet created and the network deleted. No design can avoid those calls without pre-created ports. ' +
        '"Neutron busy" is the wall time during which at least one Neutron call was in flight inside the kuryr operation (from the proxy).',
      '',
      latencyTable(l),
      '',
      `![latency](${stamp}-latency.svg)`,
      '',
      '| ratio of medians | kuryr / bridge | floor: (bridge + Neutron floor) / bridge |',
      '|---|---|---|',
      ...Object.entries(l.ratios).map(([k, v]) => `| ${k} | ${v.kuryrOverBridge}× | ${v.floorRatio}× |`),
      '',
    );
    const s = l.summaries;
    const b = l.neutronBusyMs;
    const gap = (kuryr: string, bridge: string, busy: string[]): string => {
      const nb = busy.reduce((a, k) => a + (b[k]?.median ?? 0), 0);
      return `${ms(s[kuryr]?.median)} (bridge ${ms(s[bridge]?.median)}); Neutron had a call in flight for ${ms(nb)} of it`;
    };
    out.push(
      `Where the time goes: \`run -d + rm -f\` on kuryr takes ${gap('kuryr run -d + rm -f', 'bridge run -d + rm -f', ['kuryr run -d', 'kuryr rm -f'])}; \`network create + rm\` ${gap('kuryr network create + rm', 'bridge network create + rm', ['kuryr network create', 'kuryr network rm'])}. ` +
        `Neutron's time includes the calls made after the daemon answered (the endpoint record of CreateEndpoint), which overlap Docker's own work, and bridge's time is Docker doing in-process what the plugin does for kuryr (veth, bridge, iptables), so the difference is not a sum of parts: the daemon's own time per call is in the next table. The Docker CLI round trip alone is ${ms(s['docker CLI round trip']?.median)}.`,
      '',
    );
    const pm = Object.entries(l.pluginMs);
    if (pm.length) {
      out.push('Time inside the daemon per libnetwork call (median over the repetitions, the daemon\'s own clock; the rest of the CLI time is Docker):', '', '| kuryr operation | CLI median | libnetwork calls (median ms each) | sum |', '|---|---|---|---|');
      for (const [op, methods] of pm) {
        const sum = Object.values(methods).reduce((a, b) => a + b, 0);
        out.push(`| ${op} | ${ms(l.summaries[op]?.median)} | ${Object.entries(methods).map(([m, v]) => `${m.replace(/^(NetworkDriver|IpamDriver)\./, '')} ${Math.round(v)}`).join(', ')} | ${ms(sum)} |`);
      }
      out.push('');
    }
    const put = l.neutronByCall.find((x) => x.shape === 'PUT ports/{id}');
    const post = l.neutronByCall.find((x) => x.shape === 'POST ports');
    const ce = l.pluginMs['kuryr run -d']?.['NetworkDriver.CreateEndpoint'];
    if (put && post) {
      out.push(
        `In \`docker run -d\`, RequestAddress waits for \`POST ports\` (the bound port: ${ms(post.median)} median, the floor). CreateEndpoint plugs the host side (veth pair, checksum offload off, OVS port${ce !== undefined ? `: ${ms(ce)} median` : ''}) and answers; the endpoint record — \`PUT ports/<id>\` (\`device_id\` = EndpointID, Kuryr's footprint: ${ms(put.median)} median, with ML2/OVN every port update is written through to the OVN northbound DB) and the endpoint tags — is written after the reply, while Docker starts the container. Without port pools, the bound port create is what remains between kuryr and the floor.`,
        '',
      );
    }
    const run = l.ratios['run -d'];
    const pooled = l.ratios['run -d, port pools'];
    if (run && pooled) {
      const calls = l.neutronCallsPerOp['kuryr pools run -d'];
      const ceP = l.pluginMs['kuryr pools run -d'];
      out.push(
        `Port pools (\`[vif_pool] enabled = true\`, a second daemon \`kbenchpool\` on its own network, interleaved with the runs above): without them the bound port create is on the critical path of every \`docker run\` — bridge + that call alone is ${run.floorRatio}× bridge here, kuryr-ts without pools ${run.kuryrOverBridge}×. ` +
          `With pools the port is made and bound in the background (bulk creates) and handed out by RequestAddress ${handOutMarked(r) && s['floor: port update'] ? `after one guarded \`PUT ports/<id>\` (the hand-out mark, ${ms(s['floor: port update'].median)} median straight against Neutron)` : 'with no Neutron call'}; CreateEndpoint plugs the host side and answers, and writes device_id and the endpoint tags after the reply (${calls ? `${calls.min}–${calls.max}` : '?'} Neutron calls while Docker waits, counted by that daemon): \`docker run -d\` is ${ms(s['kuryr pools run -d']?.median)} median, ${pooled.kuryrOverBridge}× bridge (${ms(s['bridge run -d']?.median)}).` +
          (ceP
            ? ` Inside the daemon: ${Object.entries(ceP).map(([m, v]) => `${m.replace(/^(NetworkDriver|IpamDriver)\./, '')} ${Math.round(v)} ms`).join(', ')} (median), ${ms(Object.values(ceP).reduce((x, y) => x + y, 0))} in all — the host plumbing, three short commands (\`ip -batch\`, \`ethtool\`, \`ovs-vsctl\`). ` +
              `What bounds the ratio: a remote driver that does nothing but make a veth pair (bench/null-driver.ts, no Neutron, no OVS, same image and CLI, interleaved) makes \`docker run -d\` ${ms(s['null remote driver run -d']?.median)} median, ${pooled.floorRatio}× bridge: that is Docker's own remote-driver path (plugin round trips, a plugin-made veth moved into the container) and the floor of any remote driver on this machine. kuryr-ts with pools is ${ms((s['kuryr pools run -d']?.median ?? NaN) - (s['null remote driver run -d']?.median ?? NaN))} above that floor (bridge: ${ms(s['bridge run -d']?.median)} median, p95 ${ms(s['bridge run -d']?.p95)}).${poolsRunFloor(r) ? ` With the hand-out mark Docker waits for, the floor (× bridge, and in ms) is ${poolsRunFloor(r)}: see the targets.` : ''}`
            : ''),
        '',
      );
    }
    if (l.failures.length) out.push(`Failures: ${l.failures.length}`, '', ...l.failures.slice(0, 10).map((f) => `- ${f}`), '');
  }
  const c = r.concurrency;
  if (c) {
    out.push('## 3. Concurrency', '');
    out.push(
      `${c.containers} \`docker run -d\` on one kuryr network one after another, then all removed at once; then ${c.containers} started at once (${c.containers} docker CLI processes), checked, and removed at once. Daemon fds and RSS from \`/proc/<pid>\` (sampled every 500 ms); "settled" is 6 s after the last removal (idle keep-alive connections to Neutron close after a few seconds).`,
      '',
      '| measure | value |',
      '|---|---|',
      `| ${c.containers} serial starts | ${ms(c.serialStartsMs)} (${c.serialStartFailures.length} failed) |`,
      `| ${c.containers} removed at once (after the serial starts) | ${ms(c.removalAfterSerialMs)} (${c.removalAfterSerialFailures.length} failed) |`,
      `| ${c.containers} started at once | ${ms(c.parallelStartsMs)} (${c.parallelStartFailures.length} failed); per command median ${ms(c.parallelStartLatency.median)}, p95 ${ms(c.parallelStartLatency.p95)} |`,
      `| at once / serial | ${c.parallelOverSerial}${c.neutronDuringStarts.maxInFlightByShape === undefined ? ' (target ≤ 0.3)' : ''} |`,
      `| addresses (Docker) / Neutron ports while up | ${c.addressesSeen} / ${c.neutronPortsWhileUp}; duplicates ${c.duplicateIpsDocker} / ${c.duplicateIpsNeutron} |`,
      `| one more \`docker run -d\` with ${c.containers} up (median of 2) | ${ms(c.attachWithNPortsUpMs.median)} |`,
      `| ${c.containers} removed at once | ${ms(c.parallelRemovalMs)} (${c.parallelRemovalFailures.length} failed); per command p95 ${ms(c.parallelRemovalLatency.p95)} |`,
      `| kuryr ports left in Neutron after removal | ${c.neutronPortsLeftAfterRemoval} |`,
      `| daemon request errors / Neutron calls in the phase | ${c.daemonErrors} / ${c.daemonNeutronCalls} |`,
      `| Neutron while the ${c.containers} started | ${c.neutronDuringStarts.calls} calls; Neutron busy ${ms(c.neutronDuringStarts.busyMs)} of the ${ms(c.parallelStartsMs)}${c.neutronDuringStarts.maxInFlight === undefined ? '' : `, at most ${c.neutronDuringStarts.maxInFlight} of them in flight at once`} (at most ${c.maxNeutronInFlight} calls in flight in the phase) |`,
      `| Neutron while the ${c.containers} were removed | ${c.neutronDuringRemoval.calls} calls; Neutron busy ${ms(c.neutronDuringRemoval.busyMs)} of the ${ms(c.parallelRemovalMs)} |`,
      `| the same with Docker's bridge driver | ${c.containers} serial starts ${ms(c.bridge.serialStartsMs)}, at once ${ms(c.bridge.parallelStartsMs)} (ratio ${c.bridge.parallelOverSerial}), removal at once ${ms(c.bridge.parallelRemovalMs)}, ${c.bridge.failures.length} failed |`,
      `| daemon open fds: idle → peak → after removal → settled | ${c.proc.idle.fds} → ${c.proc.peak.fds} → ${c.proc.afterRemoval.fds} → ${c.proc.settled.fds} |`,
      `| daemon RSS: idle → peak → after removal → settled | ${c.proc.idle.rssMB} → ${c.proc.peak.rssMB} → ${c.proc.afterRemoval.rssMB} → ${c.proc.settled.rssMB} MB |`,
      '',
    );
    out.push(shapeTable(c.neutronDuringStarts.byShape, `Neutron calls while the ${c.containers} started at once`), '');
    const serialCost = new Map((r.latency?.neutronByCall ?? []).map((x) => [x.shape, x.median]));
    const work = c.neutronDuringStarts.byShape.reduce((a, x) => a + x.n * (serialCost.get(x.shape) ?? x.median), 0);
    const workers = Number((r.meta.params as { neutronApiWorkers?: number }).neutronApiWorkers ?? 2);
    const { creates, most } = portCreatesOfStarts(c.neutronDuringStarts);
    if (creates && most !== undefined) {
      const sum = creates.n * creates.mean;
      out.push(
        `What bounds "at once / serial" without port pools: Docker. Its \`Network.CreateEndpoint\` (libnetwork) holds a lock on the network while it asks the IPAM driver for the address and the network driver for the endpoint, so the starts on one network reach the driver one after another whatever the driver does. ` +
          `Each of them waits for its port's create (\`RequestAddress\` makes the port, already bound): ${most === 1 ? `the ${creates.n} \`POST ports\` ran one at a time` : `at most ${most} of the ${creates.n} \`POST ports\` were in flight at once`}, and their durations add up to ${ms(sum)} of the ${ms(c.parallelStartsMs)} the starts took, a ratio of at least ${(sum / c.serialStartsMs).toFixed(2)} to the serial starts. ` +
          `A create takes longer than one at a time (median ${ms(creates.median)}) because Neutron is serving the earlier starts' \`device_id\` and tag updates, which the daemon makes after its replies, at the same time. With port pools Docker's lock covers no Neutron call (see the pools rows).`,
        '',
      );
    }
    out.push(
      `${most === undefined ? 'What bounds "at once / serial"' : 'What the Neutron calls alone would allow'}: the ${c.containers} starts need ${c.neutronDuringStarts.calls} Neutron calls; at their unloaded (one-at-a-time, phase 2) durations that is ${ms(work)} of Neutron work. ` +
        `Neutron runs ${workers} API workers on ${r.meta.cpus} cores shared with Docker, containerd, OVN, PostgreSQL and Keystone, so that work cannot take less than ${ms(work / workers)} of wall time, ` +
        `i.e. a ratio of at least ${(work / workers / c.serialStartsMs).toFixed(2)} before Docker's own work; Docker alone (bridge driver) reaches ${c.bridge.parallelOverSerial} here. ` +
        `Neutron had a call in flight during ${Math.round((100 * c.neutronDuringStarts.busyMs) / Math.max(1, c.parallelStartsMs))}% of the ${ms(c.parallelStartsMs)}.`,
      '',
    );
    const fails = [...c.serialStartFailures, ...c.parallelStartFailures, ...c.parallelRemovalFailures, ...c.removalAfterSerialFailures];
    if (fails.length) out.push('Failures:', '', ...fails.slice(0, 10).map((f) => `- ${f}`), '');
  }
  const sc = r.scale;
  if (sc) {
    out.push('## 4. Scale and memory', '');
    out.push(
      `Driven through the libnetwork protocol on the bench daemon's socket, exactly as Docker calls it (Docker's own per-call overhead would only stretch the run): a network is \`RequestPool\` + \`RequestAddress\` (gateway) + \`CreateNetwork\` (a real Neutron pool, network and subnet); an attach is \`RequestAddress\` + \`CreateEndpoint\` + \`Join\` (a real bound port, veth pair and OVS port), a detach \`Leave\` + \`DeleteEndpoint\` + \`ReleaseAddress\`. ` +
        `${sc.networks < sc.networksAsked ? `**Only ${sc.networks} of ${sc.networksAsked} networks**: at the speed Neutron had in phase 2, more would not have fit in the run's time cap (\`BENCH_HARD_BUDGET_S\`). ` : ''}${sc.networks} networks were created (the first and last 5 one at a time, the others ${String((r.meta.params as { networkConcurrency?: number }).networkConcurrency ?? 4)} at a time), then ${sc.cyclesDone} of ${sc.cyclesAsked} attach/detach cycles ran ${String((r.meta.params as { cycleConcurrency?: number }).cycleConcurrency ?? 8)} at a time${sc.cappedByBudget ? ` (stopped early so that the whole run stays within ${String((r.meta.params as { budgetS?: number }).budgetS)} s: Neutron, not the daemon, sets the pace — see the Neutron busy time below)` : ''} over the first 8 networks, with all ${sc.networks} networks present, then all networks were deleted. The phase took ${sc.phaseS} s; ${sc.operations} operations had been served by the daemon since it started.`,
      '',
      '| measure | value |',
      '|---|---|',
      `| network create, 1st | ${ms(sc.networkCreateFirstMs)} (${sc.networkCreateCallsFirst} Neutron calls) |`,
      `| network create, ${sc.networks}th | ${ms(sc.networkCreateLastMs)} (${sc.networkCreateCallsLast} Neutron calls) |`,
      `| network create, median of the first 5 / the last 5 | ${ms(sc.networkCreateFirst5.median)} / ${ms(sc.networkCreateLast5.median)} |`,
      `| network delete with ${sc.networks} networks / with 1 left | ${ms(sc.networkDeleteFirstMs)} / ${ms(sc.networkDeleteLastMs)} |`,
      `| attach / detach, median, 1 network | ${ms(sc.attachDetachWith1Network.attach.median)} / ${ms(sc.attachDetachWith1Network.detach.median)} |`,
      `| attach / detach, median, ${sc.networks} networks | ${ms(sc.attachDetachWithAllNetworks.attach.median)} / ${ms(sc.attachDetachWithAllNetworks.detach.median)} |`,
      `| attach/detach cycles | ${sc.cyclesDone} in ${sc.cycleWallS} s (${sc.cyclesPerS}/s), ${sc.cycleFailures} failed |`,
      `| Neutron during the cycles | ${sc.neutronDuringCycles.calls} calls, busy ${ms(sc.neutronDuringCycles.busyMs)} of ${ms(sc.cycleWallS * 1000)} |`,
      `| daemon RSS: after the operations → after cleanup → settled | ${sc.proc.afterOps.rssMB} → ${sc.proc.afterCleanup.rssMB} → ${sc.proc.settled.rssMB} MB |`,
      `| daemon open fds: after the operations → settled | ${sc.proc.afterOps.fds} → ${sc.proc.settled.fds} |`,
      '',
      shapeTable(sc.neutronDuringCycles.byShape, 'Neutron calls during the cycles'),
      '',
    );
    if (sc.cycleErrors.length) out.push('Cycle errors (first 5):', '', ...sc.cycleErrors.map((e) => `- ${e}`), '');
  }
  const mem = r.memory;
  if (mem) {
    out.push('## Memory over the whole run', '');
    out.push(
      `The bench daemon served ${mem.operations} Docker-level operations in this run (network create/rm, attach, detach, connect, disconnect, over Docker or the plugin protocol). ` +
        `RSS ${mem.fresh.rssMB} MB fresh (after start-up), ${mem.final.rssMB} MB at the end${mem.settled ? `, ${mem.settled.rssMB} MB after 30 s idle` : ''}; ${memoryGrowth(mem.timeline)} MB change over the second half of the operations; open fds ${mem.fresh.fds} → ${mem.final.fds}. ` +
        `An idle \`node -e setTimeout\` of the same Node binary is ${mem.nodeBaselineMB} MB: that much of the daemon's RSS is the runtime itself (V8, its code and heap reservations). With the daemon's runtime dependencies imported and ${dependencyLoads(mem)} it is ${mem.nodeWithDependenciesMB} MB; the daemon's own code, its caches and its live objects are the remaining ${Math.round((mem.fresh.rssMB - mem.nodeWithDependenciesMB) * 10) / 10} MB when fresh.`,
      '',
    );
    // Newer runs: each daemon's own account of its memory at the three readings.
    const account = (label: string, a: ProcReading, b: ProcReading, c: ProcReading | undefined): string | undefined => {
      const [x, y, z] = [a.v8, b.v8, c?.v8];
      if (!x || !y) return undefined;
      const seq = (f: (v: NonNullable<ProcReading['v8']>) => number): string => [x, y, ...(z ? [z] : [])].map(f).join(' → ');
      return `| ${label} | ${seq((v) => v.heapUsedMB)} | ${seq((v) => v.heapTotalMB)} | ${seq((v) => v.codeMB)} | ${(z ?? y).idleCollections} |`;
    };
    const accounts = [account('bench daemon (no pools)', mem.fresh, mem.final, mem.settled), mem.pools && account('pool daemon', mem.pools.fresh, mem.pools.final, mem.pools.settled)].filter((x): x is string => !!x);
    if (accounts.length) {
      out.push(
        `Each daemon's own account (\`GET /kuryr/stats\`), fresh → end of the run${mem.settled ? ' → 30 s later' : ''}, MB. Heap in use is live objects and the garbage of the work since the last collection (the daemon collects once it is idle after a busy spell); compiled code grows as the run uses code paths for the first time.`,
        '',
        '| daemon | V8 heap in use | V8 heap reserved | of which compiled code (in use) | idle collections |',
        '|---|---|---|---|---|',
        ...accounts,
        '',
      );
    }
    out.push(`![memory](${stamp}-memory.svg)`, '');
  }
  if (r.latency?.neutronByCall.length) {
    out.push('### Neutron calls one at a time (phase 2)', '', shapeTable(r.latency.neutronByCall, 'the daemon\'s calls in phase 2'), '');
  }
  if (r.neutronByCall?.length) {
    out.push('## Where Neutron time goes (all calls of the run, through the proxy)', '', shapeTable(r.neutronByCall, 'every Neutron call of the run'), '');
  }
  out.push('## Cleanup', '', `Neutron leftovers of this run after cleanup: ${JSON.stringify(r.cleanup.leaks)}.${r.cleanup.notes.length ? ` Notes: ${r.cleanup.notes.join('; ')}.` : ''}`, '');
  out.push('Raw data: [' + `${stamp}.json](${stamp}.json).`, '');
  return out.join('\n');
}

export function writeReport(r: Results, dir: string): { paths: string[]; summary: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = r.meta.date.slice(0, 16).replace(/:/g, '').replace('T', '-');
  const paths: string[] = [];
  const put = (name: string, text: string): void => {
    writeFileSync(join(dir, name), text);
    paths.push(join(dir, name));
  };
  put(`${stamp}.json`, `${JSON.stringify(r, null, 1)}\n`);
  if (r.latency) put(`${stamp}-latency.svg`, latencySvg(r.latency));
  if (r.memory) put(`${stamp}-memory.svg`, memorySvg(r.memory.timeline, 80, r.memory.nodeBaselineMB));
  const md = markdown(r, stamp);
  put(`${stamp}.md`, md);
  copyFileSync(join(dir, `${stamp}.md`), join(dir, 'latest.md'));
  paths.push(join(dir, 'latest.md'));
  const rows = [...summaryRows(r), ...targetRows(r).map((t) => [t[0], t[1], [t[2] === '' ? '' : `× bridge ${t[2]}, × null ${t[3]}`, t[4] === '' || t[4] === '–' ? '' : `bound ${t[4]}`].filter(Boolean).join(', '), t[5], t[6]])];
  const widths = rows[0]!.map((_, i) => Math.min(60, Math.max(...rows.map((row) => (row[i] ?? '').length))));
  const summary = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
  return { paths, summary };
}
