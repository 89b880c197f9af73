/** The reconcile report as `kuryr reconcile` prints it: what was looked at, removed, left alone and why. */
import type { Finding, FindingKind, ReconcileReport } from '../domain/reconcile-report.js';

const LABEL: Record<FindingKind, [one: string, many: string]> = {
  port: ['port', 'ports'],
  host: ['host plumbing of endpoint', 'host plumbing records'],
  network: ['network', 'networks'],
  subnet: ['subnet', 'subnets'],
  subnetpool: ['subnet pool', 'subnet pools'],
  'security-group': ['security group', 'security groups'],
};

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function section(title: string, findings: Finding[]): string[] {
  if (findings.length === 0) return [];
  return [
    `${title} (${findings.length}):`,
    ...findings.flatMap((f) => [`  ${LABEL[f.kind][0]} ${f.id}: ${f.what}`, `      ${f.reason}${f.error ? `\n      error: ${f.error}` : ''}`]),
    '',
  ];
}

export function formatReport(report: ReconcileReport, where: string): string {
  const by = (...outcomes: Finding['outcome'][]): Finding[] => report.findings.filter((f) => outcomes.includes(f.outcome));
  const counts = (m: Record<string, number>): string =>
    Object.entries(m)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'nothing';
  const removed = by('removed', 'would-remove');
  const reset = by('reset', 'would-reset');
  const left = by('left');
  const failed = by('failed');
  const lines = [
    `kuryr reconcile on host ${report.host}, run by ${where}${report.dryRun ? ' — dry run: nothing was changed' : ''}`,
    `Looked at: ${counts(report.seen)}`,
    `In use: ${counts(Object.fromEntries(Object.entries(report.inUse).map(([k, v]) => [LABEL[k as FindingKind]?.[1] ?? k, v])))}`,
    '',
    ...section(report.dryRun ? 'Would remove' : 'Removed', removed),
    ...section(report.dryRun ? 'Would reset (pre-created ports: kept, given back unbound)' : 'Reset (pre-created ports: kept, given back unbound)', reset),
    ...section('Left alone', left),
    ...section('Failed', failed),
    ...(report.skipped.length > 0 ? ['Not checked (nothing there was touched):', ...report.skipped.map((s) => `  - ${s}`), ''] : []),
    ...(report.notes.length > 0 ? ['Notes:', ...report.notes.map((s) => `  - ${s}`), ''] : []),
    `${report.dryRun ? 'Would remove' : 'Removed'} ${plural(removed.length, 'leftover')}${reset.length ? `, ${report.dryRun ? 'would reset' : 'reset'} ${plural(reset.length, 'port')}` : ''}, left ${left.length} alone` +
      `${failed.length ? `, ${failed.length} failed` : ''}${report.complete ? '' : ' — incomplete (see above)'}; ${report.durationMs} ms.`,
  ];
  return lines.join('\n');
}
