/**
 * The performance targets, with and without port pools, next to what a run
 * measured: each kuryr ratio against Docker's bridge driver and against the
 * null remote driver (the floor of any remote driver) of the same run.
 * Rows whose data a run does not have (older runs, phases not run) are left out.
 */
import type { Results } from './report.js';

/** [measure, kuryr-ts, × bridge, × null driver, target, met] */
export type TargetRow = [string, string, string, string, string, string];

const yes = (ok: boolean): string => (ok ? '✅' : '❌');
const x = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${v}×`);
const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${Math.round(v)} ms`);

export function targetRows(r: Results): TargetRow[] {
  const rows: TargetRow[] = [];
  const l = r.latency;
  if (l?.ratios['rm -f']) {
    const s = l.summaries;
    const lr = l.ratios;
    const op = (label: string, key: string, ratio: string, target: number | undefined): void => {
      const q = lr[ratio];
      if (!q) return;
      const nullKey = key.replace(/^kuryr (pools )?/, 'null remote driver ');
      const overNull = q.overNull ?? (s[nullKey] ? Math.round(((s[key]?.median ?? NaN) / s[nullKey]!.median) * 100) / 100 : undefined);
      rows.push([label, ms(s[key]?.median), x(q.kuryrOverBridge), x(overNull), target === undefined ? '–' : `≤ ${target}× bridge`, target === undefined ? '–' : yes(q.kuryrOverBridge <= target)]);
    };
    op('pools: run -d (median)', 'kuryr pools run -d', 'run -d, port pools', 1.2);
    op('pools: rm -f', 'kuryr pools rm -f', 'rm -f, port pools', 1.3);
    op('pools: network create', 'kuryr pools network create', 'network create, port pools', undefined);
    op('pools: network rm', 'kuryr pools network rm', 'network rm, port pools', undefined);
    op('no pools: run -d', 'kuryr run -d', 'run -d', undefined);
    op('no pools: rm -f', 'kuryr rm -f', 'rm -f', 2);
    op('no pools: network create', 'kuryr network create', 'network create', 2.5);
    op('no pools: network rm', 'kuryr network rm', 'network rm', undefined);
  }
  const c = r.concurrency;
  if (c?.pools) {
    const p = c.pools;
    const fails = p.failures.length;
    rows.push([`pools: ${c.containers} at once / ${c.containers} serial`, `${p.parallelOverSerial}`, `bridge ${c.bridge.parallelOverSerial}`, '–', '≤ 0.6', yes(p.parallelOverSerial <= 0.6)]);
    rows.push(['pools: failures, duplicate IPs', `${fails}, ${p.duplicateIpsDocker}`, '', '', '0', yes(fails === 0 && p.duplicateIpsDocker === 0 && p.addressesSeen === c.containers)]);
    rows.push([`no pools: ${c.containers} at once / ${c.containers} serial`, `${c.parallelOverSerial}`, `bridge ${c.bridge.parallelOverSerial}`, '–', '–', '–']);
  }
  const m = r.memory;
  if (m?.pools) {
    for (const [label, fresh, final] of [
      ['no pools', m.fresh, m.final],
      ['pools', m.pools.fresh, m.pools.final],
    ] as const) {
      rows.push([`${label}: daemon RSS idle → end of run`, `${fresh.rssMB} → ${final.rssMB} MB`, '', '', '≤ 70 MB idle, no growth', yes(fresh.rssMB <= 70 && final.rssMB <= fresh.rssMB + 5)]);
    }
  }
  for (const row of r.callsPools ?? []) {
    rows.push([`pools: Neutron calls of ${row.op} (Docker waits / after the reply)`, `${Math.max(0, ...row.foreground)} / ${Math.max(0, ...row.background)}`, '', '', '–', row.failures === 0 ? '–' : `${row.failures} failed`]);
  }
  return rows;
}
