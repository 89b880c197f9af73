/**
 * Where the daemon's memory is, for `GET /kuryr/stats` (the bench reads it next
 * to /proc's VmRSS): the resident set, V8's heap (reserved and in use), the
 * compiled code among it, and memory held for JavaScript outside the heap.
 */
import { getHeapSpaceStatistics } from 'node:v8';

export interface MemorySplit {
  rssMB: number;
  heapTotalMB: number;
  heapUsedMB: number;
  /** Compiled code (V8's code spaces, in use). */
  codeMB: number;
  externalMB: number;
}

/** Bytes as MB with one decimal, as the daemon reports memory. */
export const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;

export function memorySplit(): MemorySplit {
  const m = process.memoryUsage();
  const code = getHeapSpaceStatistics()
    .filter((s) => s.space_name.startsWith('code_'))
    .reduce((sum, s) => sum + s.space_used_size, 0);
  return { rssMB: mb(m.rss), heapTotalMB: mb(m.heapTotal), heapUsedMB: mb(m.heapUsed), codeMB: mb(code), externalMB: mb(m.external) };
}
