/** Random ids as Docker makes them, sleeping, bounded parallelism. */

export function randomHex(n: number): string {
  let s = '';
  while (s.length < n) s += Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
  return s.slice(0, n);
}

/** A locally administered unicast MAC, as Docker makes them. */
export function randomMac(): string {
  const b = randomHex(10).match(/../g)!;
  return ['02', ...b].join(':');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs fn over items with at most `limit` at a time; results in input order. */
export async function pool<I, O>(items: readonly I[], limit: number, fn: (item: I, i: number) => Promise<O>): Promise<O[]> {
  const out = new Array<O>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

