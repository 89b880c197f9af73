/**
 * The output formats of list and show commands, as the openstack CLI (cliff)
 * offers them: `-f table` (python-zunclient's tables, the default), `json`,
 * `value` (bare values: a row per line, space-separated; for show one value
 * per line) and `yaml`; `-c COLUMN` (repeatable) keeps those columns, in the
 * command's own column order, and names the known ones when none matches.
 */
import { stringify } from 'yaml';
import { propertyTable, showKeys, table } from './table.js';

export const FORMATS = ['table', 'json', 'value', 'yaml'] as const;
export type Format = (typeof FORMATS)[number];

export interface OutputOptions {
  format: Format;
  columns: string[];
}

export class ColumnError extends Error {
  override readonly name = 'ColumnError';
}

function selected(all: readonly string[], wanted: readonly string[]): string[] {
  if (wanted.length === 0) return [...all];
  const keep = all.filter((c) => wanted.includes(c));
  if (keep.length === 0) throw new ColumnError(`no recognized column names in ${wanted.join(', ')}; the columns are ${all.join(', ')}`);
  return keep;
}

function bare(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const structured = (format: 'json' | 'yaml', data: unknown): string => (format === 'json' ? JSON.stringify(data, null, 2) : stringify(data).trimEnd());

/** A list: `columns` name the cells of each row. */
export function renderList(columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>, o: OutputOptions): string {
  const keep = selected(columns, o.columns);
  const idx = keep.map((c) => columns.indexOf(c));
  const cells = rows.map((r) => idx.map((i) => r[i]));
  switch (o.format) {
    case 'table':
      return table(keep, cells);
    case 'value':
      return cells.map((r) => r.map(bare).join(' ')).join('\n');
    default:
      return structured(o.format, cells.map((r) => Object.fromEntries(keep.map((c, i) => [c, r[i] ?? null]))));
  }
}

/** One object (show, create, run): its fields but `links`, sorted, as the Property/Value table. */
export function renderShow(obj: Record<string, unknown>, o: OutputOptions): string {
  const keep = selected(showKeys(obj), o.columns);
  switch (o.format) {
    case 'table':
      return propertyTable(Object.fromEntries(keep.map((k) => [k, obj[k]])));
    case 'value':
      return keep.map((k) => bare(obj[k])).join('\n');
    default:
      return structured(o.format, Object.fromEntries(keep.map((k) => [k, obj[k] ?? null])));
  }
}
