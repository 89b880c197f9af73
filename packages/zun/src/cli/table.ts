/** python-zunclient's PrettyTable output: a bordered table, and the two-column Property/Value table of `show`. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v === '' ? '-' : v;
  return JSON.stringify(v);
}

export function table(headers: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  const text = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => Math.max(...(r[i] ?? '').split('\n').map((l) => l.length)))));
  const line = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const row = (cells: readonly string[]): string[] => {
    const split = cells.map((c) => c.split('\n'));
    const height = Math.max(1, ...split.map((s) => s.length));
    return Array.from({ length: height }, (_, k) => `| ${split.map((s, i) => (s[k] ?? '').padEnd(widths[i]!)).join(' | ')} |`);
  };
  return [line, ...row(headers), line, ...text.flatMap(row), line].join('\n');
}

/** The fields a show prints: all but `links`, sorted. */
export const showKeys = (obj: Record<string, unknown>): string[] => Object.keys(obj).sort().filter((k) => k !== 'links');

export function propertyTable(obj: Record<string, unknown>): string {
  return table(['Property', 'Value'], showKeys(obj).map((k) => [k, obj[k]]));
}

/** Zun's list view: `addresses` flattened to the IPs, comma-joined. */
export function flatAddresses(addresses: unknown): string {
  if (!addresses || typeof addresses !== 'object') return '';
  return Object.values(addresses as Record<string, Array<{ addr: string }>>)
    .flat()
    .map((a) => a.addr)
    .join(', ');
}
