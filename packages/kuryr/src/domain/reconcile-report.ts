/**
 * What one reconciliation found and did, as data: each leftover removed (or,
 * in a dry run, that would be), each suspect left alone and why, what could
 * not be checked, and counts of what was looked at and found in use. The CLI
 * prints it, the daemon logs it and serves it; the totals feed /kuryr/stats.
 */

export type FindingKind = 'port' | 'host' | 'network' | 'subnet' | 'subnetpool' | 'security-group';

/** removed/reset: done; would-*: a dry run's; left: left alone on purpose (reason says why); failed: tried and failed. */
export type Outcome = 'removed' | 'reset' | 'would-remove' | 'would-reset' | 'left' | 'failed';

export interface Finding {
  kind: FindingKind;
  /** The Neutron id, or the endpoint whose host plumbing it is. */
  id: string;
  /** What it is, in a few words (name, address, host objects). */
  what: string;
  outcome: Outcome;
  reason: string;
  /** The error of a failed removal. */
  error?: string;
}

export interface ReconcileReport {
  host: string;
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  /** Objects looked at, per kind (and Docker's networks and endpoints). */
  seen: Record<string, number>;
  /** Objects found in use (or in flight), per kind: not listed one by one. */
  inUse: Record<string, number>;
  findings: Finding[];
  /** Parts that could not be checked, and why: nothing there was touched. */
  skipped: string[];
  /** Parts left out by design on this host (e.g. networks in global scope), and why. */
  notes: string[];
  /** Every part ran and nothing failed. */
  complete: boolean;
}

export class ReportBuilder {
  readonly #started: number;
  readonly findings: Finding[] = [];
  readonly skipped: string[] = [];
  readonly notes: string[] = [];
  readonly seen: Record<string, number> = {};
  readonly inUse: Record<string, number> = {};

  constructor(
    readonly host: string,
    readonly dryRun: boolean,
    readonly now: () => number,
  ) {
    this.#started = now();
  }

  see(what: string, n: number): void {
    this.seen[what] = (this.seen[what] ?? 0) + n;
  }

  used(kind: FindingKind): void {
    this.inUse[kind] = (this.inUse[kind] ?? 0) + 1;
  }

  add(f: Finding): Finding {
    this.findings.push(f);
    return f;
  }

  skip(why: string): void {
    this.skipped.push(why);
  }

  note(what: string): void {
    this.notes.push(what);
  }

  build(): ReconcileReport {
    return {
      host: this.host,
      dryRun: this.dryRun,
      startedAt: new Date(this.#started).toISOString(),
      durationMs: Math.max(0, Math.round(this.now() - this.#started)),
      seen: this.seen,
      inUse: this.inUse,
      findings: this.findings,
      skipped: this.skipped,
      notes: this.notes,
      complete: this.skipped.length === 0 && !this.findings.some((f) => f.outcome === 'failed'),
    };
  }
}
