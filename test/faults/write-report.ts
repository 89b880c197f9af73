/**
 * The fault suite's report: gathers the figures each scenario wrote
 * (knobs.resultsDir/<scenario>.json) into `faults-latest.md` and a dated
 * `faults-<YYYY-MM-DD-HHMM>.json` next to the bench results.
 *
 *   node dist/test/faults/write-report.js [--out DIR] [--expect KEY,KEY…]
 *
 * Exits 1 when a figure missed its target, a scenario did not finish, or an
 * expected scenario wrote nothing (scripts/test.sh runs it after the suite).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { REPO } from '../lab-support/lab-host.js';
import type { Figure, ScenarioResult } from './figures.js';
import { knobValues, knobs } from './knobs.js';

/** The scenarios, in the report's order: key, what it breaks. */
export const SCENARIOS: Array<[string, string]> = [
  ['churn', 'kill -9 of the driver during container starts and removals'],
  ['burst', 'kill -9 of the driver in a burst of starts, then of removals'],
  ['neutron', 'Neutron API not answering (SIGSTOP of neutron-server)'],
  ['keystone', 'Keystone: short tokens, not answering (SIGSTOP of uwsgi), a revoked token'],
  ['dockerd', 'dockerd restarted (by pid) under running containers'],
  ['dockerd-kill', 'dockerd killed (SIGKILL, by pid) under running containers'],
  ['ovs', 'ovs-vswitchd killed (by pid) and started again'],
  ['fuzz', 'fuzzed requests on the plugin socket'],
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function quiet(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 }).toString().trim();
  } catch {
    return '?';
  }
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function valueText(f: Figure): string {
  return `${f.value}${f.unit ? ` ${f.unit}` : ''}`;
}

function markdown(results: ScenarioResult[], missing: string[], meta: Record<string, unknown>): string {
  const lines: string[] = [];
  const missed = results.flatMap((r) => r.figures.filter((f) => f.met === false).map((f) => `${r.scenario}: ${f.name}`));
  const judged = results.reduce((n, r) => n + r.figures.filter((f) => f.met !== undefined).length, 0);
  lines.push(`# kuryr-ts fault injection ${String(meta.date).slice(0, 16).replace('T', ' ')} UTC`, '');
  lines.push(
    `Code: commit \`${meta.commit}\`${meta.dirty ? ' (with uncommitted changes)' : ''}. Docker ${meta.docker}, Node ${meta.node}, ${meta.cpus} CPUs, load average ${meta.loadavg} when the report was written. ` +
      `Seed \`${knobs.seed}\`. How each scenario breaks what, and the knobs: [docs/faults.md](../../docs/faults.md).`,
    '',
  );
  lines.push(
    `**${missed.length === 0 && missing.length === 0 && results.every((r) => r.finished) ? 'All targets met' : 'TARGETS MISSED'}**: ${judged - missed.length} of ${judged} judged figures met` +
      `${missing.length ? `; no result from: ${missing.join(', ')}` : ''}${results.some((r) => !r.finished) ? `; did not finish: ${results.filter((r) => !r.finished).map((r) => r.scenario).join(', ')}` : ''}.`,
    '',
  );
  lines.push('| scenario | what breaks | duration | figures met | finished |', '|---|---|---|---|---|');
  for (const [key, what] of SCENARIOS) {
    const r = results.find((x) => x.scenario === key);
    if (!r) {
      lines.push(`| ${key} | ${what} | – | not run | – |`);
      continue;
    }
    const j = r.figures.filter((f) => f.met !== undefined);
    lines.push(`| [${key}](#${key}) | ${what} | ${r.durationS} s | ${j.filter((f) => f.met).length} / ${j.length} | ${r.finished ? 'yes' : `no: ${cell(r.error ?? '?').slice(0, 200)}`} |`);
  }
  lines.push('');
  for (const r of [...results].sort((a, b) => SCENARIOS.findIndex(([k]) => k === a.scenario) - SCENARIOS.findIndex(([k]) => k === b.scenario))) {
    lines.push(`## ${r.scenario}`, '', `${r.title}. Started ${r.startedAt.slice(11, 19)} UTC, ${r.durationS} s.`, '');
    lines.push('| figure | value | target | met |', '|---|---|---|---|');
    for (const f of r.figures) {
      lines.push(`| ${cell(f.name)} | ${cell(valueText(f))}${f.note ? `<br><small>${cell(f.note).slice(0, 300)}</small>` : ''} | ${f.target ?? '–'} | ${f.met === undefined ? '–' : f.met ? '✅' : '❌'} |`);
    }
    if (!r.finished) lines.push('', `Did not finish: ${r.error ?? '?'}`);
    for (const n of r.notes) lines.push('', n);
    lines.push('');
  }
  lines.push('## Knobs', '', '| knob | value |', '|---|---|');
  for (const [k, v] of Object.entries(meta.knobs as Record<string, unknown>)) if (k !== 'resultsDir') lines.push(`| ${k} | ${String(v)} |`);
  lines.push('');
  return lines.join('\n');
}

function main(): number {
  const out = arg('--out') ?? `${REPO}bench/results`;
  const expect = (arg('--expect') ?? '').split(',').filter(Boolean);
  const dir = knobs.resultsDir;
  const results: ScenarioResult[] = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as ScenarioResult)
    : [];
  const missing = expect.filter((k) => !results.some((r) => r.scenario === k));
  if (results.length === 0) {
    console.error(`fault report: no results in ${dir}`);
    return 1;
  }
  const now = new Date();
  const meta = {
    date: now.toISOString(),
    commit: quiet('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']),
    dirty: quiet('git', ['-C', REPO, 'status', '--porcelain', '--', 'packages', 'test']) !== '',
    docker: quiet('docker', ['version', '-f', '{{.Server.Version}}']),
    node: process.version,
    cpus: cpus().length,
    loadavg: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    knobs: knobValues(),
  };
  mkdirSync(out, { recursive: true });
  const stamp = now.toISOString().slice(0, 16).replace('T', '-').replace(':', '');
  writeFileSync(`${out}/faults-${stamp}.json`, `${JSON.stringify({ meta, results }, null, 2)}\n`);
  writeFileSync(`${out}/faults-latest.md`, markdown(results, missing, meta));
  const missed = results.flatMap((r) => r.figures.filter((f) => f.met === false).map((f) => `${r.scenario}: ${f.name} = ${valueText(f)} (target ${f.target})`));
  const unfinished = results.filter((r) => !r.finished).map((r) => r.scenario);
  console.log(`fault report: ${out}/faults-latest.md, ${out}/faults-${stamp}.json`);
  for (const m of missed) console.log(`  missed: ${m}`);
  if (unfinished.length) console.log(`  did not finish: ${unfinished.join(', ')}`);
  if (missing.length) console.log(`  no result: ${missing.join(', ')}`);
  return missed.length === 0 && unfinished.length === 0 && missing.length === 0 ? 0 : 1;
}

process.exitCode = main();
