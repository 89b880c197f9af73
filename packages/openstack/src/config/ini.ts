/**
 * oslo.config-flavoured INI parsing: `[section]`, `key = value` or
 * `key: value`, `#`/`;` comment lines, indented continuation lines, last
 * value wins. Values stay strings; typing is the schema's job (kuryr-config.ts).
 * Written by hand because the npm `ini` package coerces types and has no
 * continuation lines.
 */
import { ConfigError } from '../errors.js';

/** One option as written: its value, and where (file and line) it was set. */
export interface IniEntry {
  value: string;
  line: number;
  source: string;
}
export type IniDocument = Map<string, Map<string, IniEntry>>;

export function parseIni(text: string, source: string): IniDocument {
  const doc: IniDocument = new Map();
  let section: Map<string, IniEntry> | undefined;
  let lastKey: string | undefined;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (/^\s*([#;].*)?$/.test(raw)) return;
    if (/^\s/.test(raw) && section && lastKey) {
      const entry = section.get(lastKey)!;
      entry.value = `${entry.value}\n${raw.trim()}`;
      return;
    }
    const header = /^\[([^\]]+)\]\s*$/.exec(raw.trim());
    if (header?.[1]) {
      const name = header[1].trim();
      section = doc.get(name) ?? new Map();
      doc.set(name, section);
      lastKey = undefined;
      return;
    }
    const kv = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(raw.trim());
    if (!kv?.[1]) throw new ConfigError(`${source}:${lineNo}: cannot parse line: ${raw.trim()}`);
    if (!section) throw new ConfigError(`${source}:${lineNo}: option ${kv[1]} outside of a [section]`);
    lastKey = kv[1];
    section.set(kv[1], { value: (kv[2] ?? '').trim(), line: lineNo, source });
  });
  return doc;
}
