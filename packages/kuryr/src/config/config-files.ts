/**
 * Which kuryr.conf files are read, and in which order: oslo.config's rules,
 * so that `kuryr-server --config-file … --config-dir …` reads exactly what
 * Kuryr-libnetwork read from the same command line.
 *
 * - `--config-file` and `--config-dir` count in command-line order; a
 *   directory stands for its `*.conf` files (not hidden ones) sorted by name.
 *   Later files win, so a directory overrides the files named before it and
 *   is overridden by those named after it.
 * - A `--config-dir` that does not exist is an error (a missing
 *   `--config-file` too, when it is read).
 * - Without any `--config-file`: the first `kuryr.conf` found in `~/.kuryr/`,
 *   `~/`, `/etc/kuryr/`, `/etc/` (and likewise `<program>.conf` when the
 *   program is not called kuryr), read first.
 * - Without any `--config-dir`: the `*.conf` of the first `kuryr.conf.d/`
 *   (and `<program>.conf.d/`) found in the same places, read next.
 * Relative paths and `~` are resolved against the given cwd and home.
 * The file system is passed in, so that doctor can resolve another
 * process's command line (its cwd, its root) the same way.
 */
import { basename, join, resolve } from 'node:path';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { ConfigError } from '@kuryr-ts/openstack/errors';

export interface ConfigSource {
  readonly kind: 'file' | 'dir';
  readonly path: string;
}

/** What the resolution looks at; paths are the process's own (absolute). */
export interface ConfigFs {
  exists(path: string): boolean;
  isDir(path: string): boolean;
  isFile(path: string): boolean;
  list(dir: string): string[];
}

export interface ConfigSearch {
  /** The program name (`kuryr`, `kuryr-server`): oslo also looks for `<prog>.conf`. */
  readonly prog: string;
  readonly home: string | undefined;
  readonly cwd: string;
  readonly fs: ConfigFs;
}

export const PROJECT = 'kuryr';

export const localFs: ConfigFs = {
  exists: (p) => existsSync(p),
  isDir: (p) => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false,
  isFile: (p) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false,
  list: (d) => readdirSync(d),
};

/** The program name oslo would use: the script's base name without `.js`. */
export function progName(script: string | undefined): string {
  const name = basename(script ?? PROJECT).replace(/\.js$/, '');
  return name || PROJECT;
}

/** Directories searched for the default files, in order (oslo's `_get_config_dirs`). */
export function searchDirs(home: string | undefined): string[] {
  return [...(home ? [join(home, `.${PROJECT}`), home] : []), join('/etc', PROJECT), '/etc'];
}

function fixPath(path: string, search: Pick<ConfigSearch, 'home' | 'cwd'>): string {
  const expanded = search.home && (path === '~' || path.startsWith('~/')) ? join(search.home, path.slice(1)) : path;
  return resolve(search.cwd, expanded);
}

function dirFiles(dir: string, fs: ConfigFs): string[] {
  return fs
    .list(dir)
    .filter((name) => name.endsWith('.conf') && !name.startsWith('.'))
    .map((name) => join(dir, name))
    .filter((path) => fs.isFile(path))
    .sort(); // code-point order, as Python's sorted()
}

/** The first `<name><suffix>` for the project and the program found in the search dirs. */
function defaults(search: ConfigSearch, suffix: string, found: (path: string) => boolean): string[] {
  const names = search.prog === PROJECT ? [PROJECT] : [PROJECT, search.prog];
  return names.flatMap((name) => {
    const hit = searchDirs(search.home)
      .map((dir) => join(dir, `${name}${suffix}`))
      .find(found);
    return hit ? [hit] : [];
  });
}

/** The default files and directories oslo would use for these sources (none when the flags are given). */
export function defaultSources(sources: readonly ConfigSource[], search: ConfigSearch): ConfigSource[] {
  const files = sources.some((s) => s.kind === 'file') ? [] : defaults(search, '.conf', (p) => search.fs.exists(p));
  const dirs = sources.some((s) => s.kind === 'dir') ? [] : defaults(search, '.conf.d', (p) => search.fs.isDir(p));
  return [...files.map((path) => ({ kind: 'file' as const, path })), ...dirs.map((path) => ({ kind: 'dir' as const, path }))];
}

/** The files to read, in reading order (later ones win). */
export function configFiles(sources: readonly ConfigSource[], search: ConfigSearch): string[] {
  const all = [...defaultSources(sources, search), ...sources.map((s) => ({ ...s, path: fixPath(s.path, search) }))];
  return all.flatMap((s) => {
    if (s.kind === 'file') return [s.path];
    if (!search.fs.isDir(s.path)) throw new ConfigError(`cannot read config directory ${s.path}: not a directory or does not exist`);
    return dirFiles(s.path, search.fs);
  });
}
