#!/usr/bin/env node
/**
 * The `cuttle` command: export, import, migrate, backup, restore, upgrade, stats and verify on a store given as
 * `sqlite:./app.db`, `file:./data`, `postgres://host/db` (`?table=` and `?schema=` choose the
 * table), or a path whose kind is obvious (`*.db`, `*.sqlite`, `*.sqlite3` are SQLite files; an
 * existing folder is a file store).
 *
 * Exit codes: 0 done; 1 the command failed; 2 the command line is wrong; 3 `verify` found problems.
 * @module
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { StorageBackend } from './backends/backend.js';
import { openBackend, storeOwns, type BackendKind } from './kinds.js';
import './node.js';
import { countRecords, type DumpProgress, type ImportMode, type ImportSummary } from './dump-format.js';
import { BackendError, CuttleError, InvalidOptionError, type CorruptDataError } from './errors.js';
import { countOf, Progress } from './progress.js';
import { Store } from './store.js';
import { checkNamespace } from './ids.js';
import { innerOf, namespaceOf, namespaceView, splitStoredType } from './namespace.js';
import { Serializable, type SerializableClass } from './model.js';
import { classVersion } from './type-versions.js';

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_PROBLEMS = 3;

class UsageError extends Error {}

type Values = Record<string, string | boolean | undefined>;

interface Command {
  usage: string;
  summary: string;
  details: string;
  options: NonNullable<ParseArgsConfig['options']>;
  positionals: [min: number, max: number];
  run(positionals: string[], values: Values): Promise<number>;
}

const QUIET = { quiet: { type: 'boolean', short: 'q' } } as const;
const HELP = { help: { type: 'boolean', short: 'h' } } as const;
const MODE = { mode: { type: 'string', short: 'm' } } as const;
const NAMESPACE = { namespace: { type: 'string', short: 'n' } } as const;
const NAMESPACE_HELP = '  -n, --namespace <ns>   the namespace of <store> to work in (default: the default namespace)';

const COMMANDS: Record<string, Command> = {
  export: {
    usage: 'cuttle export <store> [file]',
    summary: 'write every object of <store> to an NDJSON dump',
    details: [
      'Writes to [file] (through a temp file, renamed when complete) or to standard output.',
      'Options:',
      '  --no-timestamp   leave createdAt out of the header, so equal stores give identical files',
      '  --skip-corrupt   leave damaged objects (a file store\'s unreadable files) out of the dump,',
      '                   naming each on standard error, instead of failing',
      '  -q, --quiet      no progress on standard error',
      NAMESPACE_HELP,
    ].join('\n'),
    options: { ...QUIET, ...NAMESPACE, 'no-timestamp': { type: 'boolean' }, 'skip-corrupt': { type: 'boolean' } },
    positionals: [1, 2],
    async run([storeSpec, file], values) {
      return withStore(storeSpec!, 'read', namespaceOption(values), async (store) => {
        const progress = new Progress('exported', { quiet: values.quiet === true });
        let skipped = 0;
        const onCorrupt = values['skip-corrupt']
          ? (error: CorruptDataError) => {
              skipped++;
              console.error(`skipped: ${error.message}`);
            }
          : undefined;
        await store.exportTo(file ?? process.stdout, { timestamp: values['no-timestamp'] !== true, onProgress: progress.update, onCorrupt });
        progress.finish();
        if (skipped > 0) console.error(`${countOf(skipped, 'damaged object')} left out of the dump`);
        return 0;
      });
    },
  },
  import: {
    usage: 'cuttle import <store> <file>',
    summary: 'store the objects of an NDJSON dump in <store>',
    details: [
      'Reads <file>, or standard input when <file> is "-". Every line is validated before the import',
      'changes anything it cannot take back (see docs/dump-format.md).',
      'Options:',
      '  -m, --mode merge|replace   merge (default) keeps objects the dump does not hold; replace',
      '                             leaves the store holding exactly the dump',
      '  -q, --quiet                no progress on standard error',
      NAMESPACE_HELP + ' (a dump',
      '                         of another namespace imports into it; replace replaces that namespace only)',
    ].join('\n'),
    options: { ...QUIET, ...MODE, ...NAMESPACE },
    positionals: [2, 2],
    async run([storeSpec, file], values) {
      const mode = importMode(values.mode);
      return withStore(storeSpec!, 'write', namespaceOption(values), async (store) => {
        const progress = new Progress('imported', { quiet: values.quiet === true });
        await store.importFrom(file === '-' ? process.stdin : file!, { mode, onProgress: progress.update });
        progress.finish();
        return 0;
      });
    },
  },
  migrate: {
    usage: 'cuttle migrate <from> <to>',
    summary: 'copy every object of <from> into <to> (any backends)',
    details: [
      'Streams a dump from <from> into <to> without a file in between.',
      'Options:',
      '  -m, --mode merge|replace   as for import (default: merge)',
      '  -q, --quiet                no progress on standard error',
      '  -n, --namespace <ns>       the namespace to copy (default: the default namespace)',
      '  --to-namespace <ns>        the namespace of <to> to copy into (default: --namespace); with',
      '                             it, <to> may be <from>: a namespace is copied into another',
    ].join('\n'),
    options: { ...QUIET, ...MODE, ...NAMESPACE, 'to-namespace': { type: 'string' } },
    positionals: [2, 2],
    async run([fromSpec, toSpec], values) {
      const mode = importMode(values.mode);
      const fromNamespace = namespaceOption(values);
      const toNamespace = typeof values['to-namespace'] === 'string' ? values['to-namespace'] : fromNamespace;
      if ((fromNamespace ?? '') === (toNamespace ?? '')) refuseOverlap(fromSpec!, toSpec!);
      return withStore(fromSpec!, 'read', fromNamespace, (from) =>
        withStore(toSpec!, 'write', toNamespace, async (to) => {
          const progress = new Progress('migrated', { quiet: values.quiet === true });
          await migrate(from, to, { mode, onProgress: progress.update });
          progress.finish();
          return 0;
        }),
      );
    },
  },
  backup: {
    usage: 'cuttle backup <store> <file>',
    summary: 'write a consistent copy of <store> while others keep writing',
    details: [
      'A SQLite store is copied through SQLite\'s online backup API into a database file (open it',
      'as sqlite:<file>); any other store into an NDJSON dump. Written through a temp file, renamed',
      'when complete. Restore either with cuttle restore (see docs/backup.md).',
      'Options:',
      '  -q, --quiet   no progress on standard error',
      NAMESPACE_HELP + ': a named',
      '                         namespace is backed up as a dump of its objects',
    ].join('\n'),
    options: { ...QUIET, ...NAMESPACE },
    positionals: [2, 2],
    async run([storeSpec, file], values) {
      const namespace = namespaceOption(values);
      const pages = parseStoreSpec(storeSpec!).kind === 'sqlite' && namespace === undefined;
      return withStore(storeSpec!, 'read', namespace, async (store) => {
        const progress = new Progress('backed up', { quiet: values.quiet === true, noun: pages ? 'page' : 'object' });
        const summary = await store.backup(file!, { onProgress: progress.update });
        progress.finish();
        if (values.quiet !== true) console.error(`${file}: ${summary.format === 'sqlite' ? 'a SQLite database' : 'an NDJSON dump'} of ${countOf(summary.count, 'object')}`);
        return 0;
      });
    },
  },
  restore: {
    usage: 'cuttle restore <file> <store>',
    summary: 'make <store> hold what a backup (a SQLite file or a dump) holds',
    details: [
      'Reads a backup written by cuttle backup or Storage.backup: a SQLite database file or an NDJSON',
      'dump (cuttle export). Every record is validated before the store changes what it cannot take back.',
      'Options:',
      '  -m, --mode merge|replace   replace (default) leaves the store holding exactly the backup;',
      '                             merge keeps objects the backup does not hold',
      '  -q, --quiet                no progress on standard error',
      NAMESPACE_HELP + ' (of a',
      '                         SQLite backup, that namespace is read)',
    ].join('\n'),
    options: { ...QUIET, ...MODE, ...NAMESPACE },
    positionals: [2, 2],
    async run([file, storeSpec], values) {
      const mode = values.mode === undefined ? 'replace' : importMode(values.mode);
      const target = parseStoreSpec(storeSpec!);
      if (storeOwns(target.kind, target.path, file!)) {
        throw new InvalidOptionError(`restore: the backup ${resolve(file!)} is part of the store ${redact(storeSpec!)} it would be restored into`);
      }
      const namespace = namespaceOption(values);
      return withStore(storeSpec!, 'write', namespace, async (to) => {
        const progress = new Progress('restored', { quiet: values.quiet === true });
        if ((await backupFormat(file!)) === 'dump') {
          await to.importFrom(file!, { mode, onProgress: progress.update });
        } else {
          await withStore(`sqlite:${file}`, 'read', namespace, (from) => migrate(from, to, { mode, onProgress: progress.update }).then(() => 0));
        }
        progress.finish();
        return 0;
      });
    },
  },
  upgrade: {
    usage: 'cuttle upgrade <store> <module>',
    summary: "rewrite the objects older versions of a module's classes wrote",
    details: [
      'Imports <module> (a JavaScript file exporting the classes, which import cuttle), registers every',
      'Serializable class it exports, and rewrites each stored object of the chosen classes that an',
      'older static version wrote, through the class\'s static upgrade. Resumable: run it again after',
      'an interruption and it finishes the rest (see docs/guide.md "Type versions").',
      'Options:',
      '  -t, --type <name>   the type to upgrade (repeatable); default: every exported class with a',
      '                      static version above 1',
      '  -q, --quiet         no progress on standard error',
      NAMESPACE_HELP,
    ].join('\n'),
    options: { ...QUIET, ...NAMESPACE, type: { type: 'string', short: 't', multiple: true } },
    positionals: [2, 2],
    async run([storeSpec, modulePath], values) {
      const classes = await exportedClasses(modulePath!);
      const names = values.type as unknown as string[] | undefined;
      return withStore(storeSpec!, 'write', namespaceOption(values), async (store) => {
        store.register(...classes);
        const byName = new Map(classes.map((Class) => [store.registry.register(Class).name, Class]));
        const chosen = names?.map((name) => {
          const Class = byName.get(name);
          if (Class === undefined) throw new UsageError(`no class "${name}" in ${resolve(modulePath!)} (it exports ${[...byName.keys()].join(', ') || 'no Serializable class'})`);
          return Class;
        }) ?? classes.filter((Class) => classVersion(Class) > 1);
        for (const Class of chosen) {
          const name = store.registry.register(Class).name;
          const progress = new Progress(`upgraded ${name}:`, { quiet: values.quiet === true });
          const summary = await store.upgrade(Class, { onProgress: ({ done, total }) => progress.update({ done, total }) });
          progress.finish();
          if (values.quiet !== true) console.error(`${name}: ${summary.upgraded.toLocaleString('en')} of ${countOf(summary.checked, 'object')} upgraded to version ${classVersion(Class)}`);
        }
        return 0;
      });
    },
  },
  stats: {
    usage: 'cuttle stats <store>',
    summary: 'objects, content bytes and versions per type and namespace, and size on disk',
    details: [
      'Lists every namespace of <store> and its types (a namespaced type shows as namespace:type).',
      'Options:',
      '  --json                 print the figures as JSON',
      '  -n, --namespace <ns>   only that namespace (its types without the prefix)',
    ].join('\n'),
    options: { json: { type: 'boolean' }, ...NAMESPACE },
    positionals: [1, 1],
    async run([storeSpec], values) {
      const namespace = namespaceOption(values);
      return withStore(storeSpec!, 'read', namespace, async (store) => {
        const stats = await collectStats(namespace === undefined ? innerOf(store.backend) : store.backend);
        if (values.json) console.log(JSON.stringify(stats, null, 2));
        else printStats(stats);
        return 0;
      });
    },
  },
  verify: {
    usage: 'cuttle verify <store>',
    summary: 'report unreadable objects and dangling references',
    details: ['Exits with 3 when it finds a problem.', 'Options:', '  --json                 print the report as JSON', NAMESPACE_HELP].join('\n'),
    options: { json: { type: 'boolean' }, ...NAMESPACE },
    positionals: [1, 1],
    async run([storeSpec], values) {
      return withStore(storeSpec!, 'read', namespaceOption(values), async (store) => {
        const report = await store.verify();
        const problems = report.unreadable.length + report.dangling.length;
        if (values.json) {
          console.log(JSON.stringify(report, null, 2));
        } else {
          console.log(`checked ${countOf(report.checked, 'object')}: ${problems === 0 ? 'no problems' : countOf(problems, 'problem')}`);
          for (const { type, id, file, error } of report.unreadable) console.log(`unreadable  ${type} ${id === undefined ? file : JSON.stringify(id)}: ${error}`);
          for (const { from, path, target } of report.dangling) {
            console.log(`dangling    ${from.type} ${JSON.stringify(from.id)} at ${path} -> ${target.type} ${JSON.stringify(target.id)}`);
          }
        }
        return problems === 0 ? 0 : EXIT_PROBLEMS;
      });
    },
  },
};

/**
 * Parses `spec` into a backend kind and path (for PostgreSQL, the connection string, with the
 * backend's `table` and `schema` taken out of its query, where pg would ignore them).
 */
export function parseStoreSpec(spec: string): { kind: BackendKind; path: string; table?: string; schema?: string } {
  if (/^postgres(ql)?:\/\//i.test(spec)) return parsePostgresSpec(spec);
  const prefixed = /^(sqlite|file):(.*)$/.exec(spec);
  if (prefixed?.[2] === '') throw new UsageError(`"${spec}" needs a path after the prefix: ${spec}${prefixed[1] === 'sqlite' ? './app.db' : './data'}`);
  if (prefixed) return { kind: prefixed[1] as BackendKind, path: prefixed[2]! };
  if (/\.(db|sqlite|sqlite3)$/i.test(spec)) return { kind: 'sqlite', path: spec };
  if (existsSync(spec) && statSync(spec).isDirectory()) return { kind: 'file' as BackendKind, path: spec };
  throw new UsageError(`cannot tell what kind of store "${spec}" is: write sqlite:${spec} or file:${spec} (or a postgres:// URL)`);
}

function parsePostgresSpec(spec: string): { kind: BackendKind; path: string; table?: string; schema?: string } {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new UsageError(`"${spec}" is not a PostgreSQL connection URL (postgres://user@host:5432/database)`);
  }
  const table = url.searchParams.get('table') ?? undefined;
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('table');
  url.searchParams.delete('schema');
  return { kind: 'postgres', path: url.href, ...(table !== undefined && { table }), ...(schema !== undefined && { schema }) };
}

/**
 * What `cuttle migrate` does: streams a dump of `from` into `to` through a pipe, without a file in
 * between. `onProgress` counts the records as `to` stores them, out of the number `from` holds:
 * the export runs ahead of a slow target (a file store validates the whole dump before it writes),
 * so counting the export side would show the work done long before it is.
 */
export async function migrate(from: Store, to: Store, options: { mode: ImportMode; onProgress?: (progress: DumpProgress) => void }): Promise<ImportSummary> {
  const { mode, onProgress } = options;
  // Through the namespace's view: the default namespace's store has the whole backend as `backend`.
  const total = onProgress && (await countRecords(namespaceView(from.backend, from.namespace, 'migrate')));
  const pipe = new PassThrough();
  // Both sides' failures are reported through their promises; unheard, the pipe's own 'error'
  // (from destroy) would end the process with a stack instead.
  pipe.on('error', () => {});
  const exporting = from.exportTo(pipe).then(
    () => pipe.end(),
    (error) => pipe.destroy(error),
  );
  const importing = to.importFrom(pipe, { mode, onProgress: onProgress && (({ done }) => onProgress({ done, total })) }).catch((error) => {
    pipe.destroy(error);
    throw error;
  });
  return (await Promise.all([exporting, importing]))[1];
}

/** The Serializable classes the module at `path` exports. */
async function exportedClasses(path: string): Promise<SerializableClass[]> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidOptionError(`upgrade: cannot import ${resolve(path)}: ${(error as Error).message}`);
  }
  return Object.values(module).filter(
    (value): value is SerializableClass => typeof value === 'function' && value.prototype instanceof Serializable,
  );
}

/** Whether the file `path` is a SQLite database (by its header) or, failing that, taken for a dump. */
async function backupFormat(path: string): Promise<'sqlite' | 'dump'> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new InvalidOptionError(`restore: cannot read the backup ${resolve(path)}: ${(error as Error).message}`);
  }
  try {
    const header = Buffer.alloc(16);
    const { bytesRead } = await handle.read(header, 0, 16, 0);
    return bytesRead === 16 && header.toString('latin1') === 'SQLite format 3\u0000' ? 'sqlite' : 'dump';
  } finally {
    await handle.close();
  }
}

/** Refuses a migration between two stores that are one, or where one holds the other's files. */
function refuseOverlap(fromSpec: string, toSpec: string): void {
  const from = parseStoreSpec(fromSpec);
  const to = parseStoreSpec(toSpec);
  const sameTable = from.kind === 'postgres' && to.kind === 'postgres' && from.path === to.path && (from.schema ?? 'public') === (to.schema ?? 'public') && (from.table ?? 'objects') === (to.table ?? 'objects');
  if (sameTable || storeOwns(from.kind, from.path, to.path) || storeOwns(to.kind, to.path, from.path)) {
    throw new InvalidOptionError(
      `migrate: ${redact(fromSpec)} and ${redact(toSpec)} overlap${sameTable ? '' : ` (${resolve(from.path)}, ${resolve(to.path)})`}: ` +
        'a store cannot be migrated into itself or into one of its own files',
    );
  }
}

/**
 * Opens the store `spec` for `run` and closes it after. `'read'`: read-only, so a store that does
 * not exist is an error saying so (and nothing is created); `'write'` (import and migrate targets):
 * created if missing.
 */
async function withStore(spec: string, access: 'read' | 'write', namespace: string | undefined, run: (store: Store) => Promise<number>): Promise<number> {
  const { kind, path, ...table } = parseStoreSpec(spec);
  // Checked before the backend is opened, so that a bad name creates nothing.
  if (namespace !== undefined) checkNamespace('--namespace', namespace);
  // A PostgreSQL database is never created by cuttle; its table is, as for an import.
  const options = kind === 'postgres' ? { connectionString: path, ...table } : { path, readonly: access === 'read' };
  const store = new Store({ backend: openBackend(kind, options as never, `store ${redact(spec)}`), cache: false, namespace });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/** The `--namespace` given, if any. */
function namespaceOption(values: Values): string | undefined {
  return typeof values.namespace === 'string' && values.namespace !== '' ? values.namespace : undefined;
}

/** `spec` without a password, for messages. */
function redact(spec: string): string {
  return spec.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}

function importMode(mode: string | boolean | undefined): 'merge' | 'replace' {
  if (mode === undefined || mode === 'merge' || mode === 'replace') return mode ?? 'merge';
  throw new UsageError(`--mode must be merge or replace, got ${JSON.stringify(mode)}`);
}

interface TypeStats {
  objects: number;
  containers: number;
  contentBytes: number;
  maxVersion: number;
  totalVersions: number;
}

interface NamespaceStats {
  /** Its types (without the namespace prefix) and their figures. */
  types: Record<string, TypeStats>;
  total: TypeStats;
}

interface StoreStats {
  store: string;
  bytesOnDisk: number | null;
  /** By type as stored: `Note` in the default namespace, `billing:Note` in namespace billing. */
  types: Record<string, TypeStats>;
  /** By namespace (`""` is the default one), each by type: every namespace that holds an object. */
  namespaces: Record<string, NamespaceStats>;
  total: TypeStats;
}

async function collectStats(backend: StorageBackend): Promise<StoreStats> {
  // A Map, not an object: type names such as "constructor" or "__proto__" are ordinary keys.
  const types = new Map<string, TypeStats>();
  const total = emptyStats();
  try {
    for await (const record of backend.records()) {
      let stats = types.get(record.type);
      if (stats === undefined) types.set(record.type, (stats = emptyStats()));
      for (const s of [stats, total]) {
        s.objects++;
        if (record.kind === 'container') s.containers++;
        s.contentBytes += Buffer.byteLength(record.content);
        s.maxVersion = Math.max(s.maxVersion, record.version);
        s.totalVersions += record.version;
      }
    }
  } catch (error) {
    // The backend is read directly here, not through the Store, which would name it.
    throw BackendError.wrap(error, backend.name, 'read its objects');
  }
  const namespaces = new Map<string, NamespaceStats>();
  const viewed = namespaceOf(backend);
  for (const [stored, stats] of types) {
    // A namespace's view lists its types without the prefix; the whole backend lists them with it.
    const { namespace, type } = viewed === '' ? splitStoredType(stored) : { namespace: viewed, type: stored };
    let figures = namespaces.get(namespace);
    if (figures === undefined) namespaces.set(namespace, (figures = { types: {}, total: emptyStats() }));
    figures.types[type] = stats;
    addStats(figures.total, stats);
  }
  const path = (innerOf(backend) as { path?: unknown }).path;
  return {
    store: backend.name,
    bytesOnDisk: typeof path === 'string' ? diskUsage(path) : null,
    types: Object.fromEntries(types),
    namespaces: Object.fromEntries([...namespaces].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    total,
  };
}

function addStats(into: TypeStats, stats: TypeStats): void {
  into.objects += stats.objects;
  into.containers += stats.containers;
  into.contentBytes += stats.contentBytes;
  into.maxVersion = Math.max(into.maxVersion, stats.maxVersion);
  into.totalVersions += stats.totalVersions;
}

function emptyStats(): TypeStats {
  return { objects: 0, containers: 0, contentBytes: 0, maxVersion: 0, totalVersions: 0 };
}

/** Bytes of a file (with its SQLite -wal and -shm companions) or of everything under a folder. */
function diskUsage(path: string): number | null {
  if (!existsSync(path)) return null;
  const stat = statSync(path);
  if (!stat.isDirectory()) {
    return [path, `${path}-wal`, `${path}-shm`].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
  }
  let bytes = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return bytes;
}

function printStats({ store, bytesOnDisk, types, namespaces, total }: StoreStats): void {
  console.log(`store  ${store}`);
  console.log(`disk   ${bytesOnDisk === null ? 'n/a' : formatBytes(bytesOnDisk)}`);
  const rows = [['type', 'objects', 'containers', 'content', 'max version', 'mean version']];
  const row = (name: string, s: TypeStats) => [
    name,
    s.objects.toLocaleString('en'),
    s.containers.toLocaleString('en'),
    formatBytes(s.contentBytes),
    String(s.maxVersion),
    s.objects ? (s.totalVersions / s.objects).toFixed(1) : '0',
  ];
  for (const [name, s] of Object.entries(types)) rows.push(row(name, s));
  rows.push(row('total', total));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  const listed = Object.entries(namespaces).map(([name, figures]) => `${name === '' ? '(default)' : name} ${countOf(figures.total.objects, 'object')}`);
  console.log(`namespaces  ${listed.length === 0 ? 'none' : listed.join(', ')}`);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) [value, unit] = [value / 1024, unit + 1];
  return `${value.toFixed(1)} ${units[unit]}`;
}

function usage(): string {
  const lines = ['Usage: cuttle <command> [options]', '', 'Commands:'];
  for (const command of Object.values(COMMANDS)) lines.push(`  ${command.usage.padEnd(32)} ${command.summary}`);
  lines.push(
    '',
    'A store is sqlite:<file>, file:<folder>, postgres://[user@]host[:port]/database[?table=t&schema=s]',
    '(table "objects" in schema "public" by default), or a path: *.db, *.sqlite, *.sqlite3 are SQLite',
    'files, an existing folder is a file store.',
    '',
    'Exit codes: 0 done, 1 failed, 2 bad command line, 3 verify found problems.',
    "Run 'cuttle <command> --help' for a command's options.",
  );
  return lines.join('\n');
}

function commandHelp(command: Command): string {
  return `Usage: ${command.usage}\n\n${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.\n${command.details}`;
}

/** Runs the command line `args` (without `node cuttle`); resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(createRequire(import.meta.url)('../package.json').version);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(`cuttle: unknown command "${name}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  try {
    const { values, positionals } = parseArgs({ args: rest, options: { ...command.options, ...HELP }, allowPositionals: true, strict: true });
    if (values.help) {
      console.log(commandHelp(command));
      return 0;
    }
    const [min, max] = command.positionals;
    if (positionals.length < min || positionals.length > max) throw new UsageError(`expected ${min === max ? countOf(min, 'argument') : `${min} to ${max} arguments`}, got ${positionals.length}`);
    return await command.run(positionals, values as Values);
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`cuttle ${name}: ${(error as Error).message}\n\n${commandHelp(command)}`);
      return EXIT_USAGE;
    }
    const label = error instanceof CuttleError ? error.code : (error as Error).name;
    console.error(`cuttle ${name}: ${(error as Error).message} (${label})`);
    return EXIT_FAILED;
  }
}

// Run when executed (the `cuttle` bin, a symlink under node_modules/.bin), not when imported.
if (process.argv[1] && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url) {
  // A reader that goes away (`cuttle stats x.db | head`) makes writes to standard output fail with
  // EPIPE; without a listener that is an unhandled 'error' event, a crash with a stack trace. An
  // export to standard output still fails (its own listener rejects it); other output is dropped.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error) => {
      console.error(error);
      process.exitCode = EXIT_FAILED;
    },
  );
}
