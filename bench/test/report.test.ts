/**
 * The report renders the committed results exactly as they were written: the
 * Markdown of the newest run, the charts of every run, and the JSON itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { latencySvg, markdown, memorySvg, writeReport, type Results } from '../report.js';
import { REPO } from '../../test/lab-support/lab-host.js';

const RESULTS = `${REPO}bench/results`;
const read = (name: string): string => readFileSync(join(RESULTS, name), 'utf8');
const load = (stamp: string): Results => JSON.parse(read(`${stamp}.json`)) as Results;

describe('bench report', () => {
  it('renders the committed Markdown of the 21:09 run from its JSON', () => {
    assert.equal(markdown(load('2026-11-22-2109'), '2026-11-22-2109'), read('2026-11-22-2109.md'));
  });

  it('draws the committed charts of every run', () => {
    for (const stamp of ['2026-11-22-1924', '2026-11-22-2041', '2026-11-22-2109']) {
      const r = load(stamp);
      assert.equal(latencySvg(r.latency!), read(`${stamp}-latency.svg`), `${stamp}-latency.svg`);
      assert.equal(memorySvg(r.memory!.timeline, 80, r.memory!.nodeBaselineMB), read(`${stamp}-memory.svg`), `${stamp}-memory.svg`);
    }
  });

  it('writes the same files again: JSON, Markdown, charts and latest.md', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const { paths, summary } = writeReport(load('2026-11-22-2109'), dir);
      assert.deepEqual(
        paths.map((p) => p.slice(dir.length + 1)),
        ['2026-11-22-2109.json', '2026-11-22-2109-latency.svg', '2026-11-22-2109-memory.svg', '2026-11-22-2109.md', 'latest.md'],
      );
      for (const name of ['2026-11-22-2109.json', '2026-11-22-2109-latency.svg', '2026-11-22-2109-memory.svg', '2026-11-22-2109.md']) {
        assert.equal(readFileSync(join(dir, name), 'utf8'), read(name), name);
      }
      assert.equal(readFileSync(join(dir, 'latest.md'), 'utf8'), read('2026-11-22-2109.md'));
      assert.match(summary, /^measure +kuryr-ts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
