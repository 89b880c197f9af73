/**
 * What a scenario measured, each figure with its target: written as JSON to
 * the results directory (knobs.resultsDir/<scenario>.json) when the scenario
 * ends, passed or not, for write-report.ts to gather. A missed target fails
 * the scenario's test.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { knobs } from './knobs.js';

export type Comparison = '==' | '<=' | '>=';

export interface Figure {
  name: string;
  value: number | string;
  unit?: string;
  /** e.g. "== 0", "<= 30 s"; absent: reported, not judged */
  target?: string;
  met?: boolean;
  note?: string;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  seed: string;
  startedAt: string;
  durationS: number;
  figures: Figure[];
  notes: string[];
  /** the scenario's test ran to its end */
  finished: boolean;
  /** why it stopped, when it did not finish */
  error?: string;
}

export class Figures {
  readonly #t0 = Date.now();
  readonly figures: Figure[] = [];
  readonly notes: string[] = [];
  #finished = false;
  #error: string | undefined;

  constructor(
    readonly scenario: string,
    readonly title: string,
  ) {}

  /** A figure without a target. */
  report(name: string, value: number | string, unit?: string, note?: string): void {
    this.figures.push({ name, value, ...(unit ? { unit } : {}), ...(note ? { note } : {}) });
  }

  /** A figure with a target; returns whether it is met. */
  check(name: string, value: number, cmp: Comparison, target: number, unit?: string, note?: string): boolean {
    const met = cmp === '==' ? value === target : cmp === '<=' ? value <= target : value >= target;
    this.figures.push({ name, value, ...(unit ? { unit } : {}), target: `${cmp} ${target}${unit ? ` ${unit}` : ''}`, met, ...(note ? { note } : {}) });
    return met;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  finished(): void {
    this.#finished = true;
  }

  failed(err: unknown): void {
    this.#error = err instanceof Error ? err.message : String(err);
  }

  /** Fails the test with every missed figure named. */
  assertMet(): void {
    const missed = this.figures.filter((f) => f.met === false).map((f) => `${f.name}: ${f.value}${f.unit ? ` ${f.unit}` : ''} (target ${f.target})${f.note ? ` — ${f.note}` : ''}`);
    assert.deepEqual(missed, [], `${this.title}: figures missed`);
  }

  result(): ScenarioResult {
    return {
      scenario: this.scenario,
      title: this.title,
      seed: knobs.seed,
      startedAt: new Date(this.#t0).toISOString(),
      durationS: Math.round((Date.now() - this.#t0) / 100) / 10,
      figures: this.figures,
      notes: this.notes,
      finished: this.#finished,
      ...(this.#error ? { error: this.#error } : {}),
    };
  }

  save(): void {
    mkdirSync(knobs.resultsDir, { recursive: true });
    writeFileSync(`${knobs.resultsDir}/${this.scenario}.json`, `${JSON.stringify(this.result(), null, 2)}\n`);
  }
}
