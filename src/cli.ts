#!/usr/bin/env node
/**
 * The `cuttle` command: export, import, migrate, stats and verify on a store given as
 * `sqlite:./app.db`, `file:./data`, or a path whose kind is obvious (`*.db`, `*.sqlite`,
 * `*.sqlite3` are SQLite files; an existing folder is a file store).
 *
 * Exit codes: 0 done; 1 the command failed; 2 the command line is wrong; 3 `verify` found problems.
 * @module
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { StorageBackend } from './backends/backend.js';
import { openBackend, type BackendKind } from './backends/kinds.js';
import { CuttleError, type CorruptDataError } from './errors.js';
import { Progress } from './progress.js';
import { Store } from './store.js';

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
    ].join('\n'),
    options: { ...QUIET, 'no-timestamp': { type: 'boolean' }, 'skip-corrupt': { type: 'boolean' } },
    positionals: [1, 2],
    async run([storeSpec, file], values) {
      return withStore(storeSpec!, async (store) => {
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
        if (skipped > 0) console.error(`${skipped} damaged object${skipped === 1 ? '' : 's'} left out of the dump`);
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
    ].join('\n'),
    options: { ...QUIET, ...MODE },
    positionals: [2, 2],
    async run([storeSpec, file], values) {
      const mode = importMode(values.mode);
      return withStore(storeSpec!, async (store) => {
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
    ].join('\n'),
    options: { ...QUIET, ...MODE },
    positionals: [2, 2],
    async run([fromSpec, toSpec], values) {
      const mode = importMode(values.mode);
      return withStore(fromSpec!, (from) =>
        withStore(toSpec!, async (to) => {
          const progress = new Progress('migrated', { quiet: values.quiet === true });
          const pipe = new PassThrough();
          const exporting = from.exportTo(pipe, { onProgress: progress.update }).then(
            () => pipe.end(),
            (error) => pipe.destroy(error),
          );
          const importing = to.importFrom(pipe, { mode }).catch((error) => {
            pipe.destroy(error);
            throw error;
          });
          await Promise.all([exporting, importing]);
          progress.finish();
          return 0;
        }),
      );
    },
  },
  stats: {
    usage: 'cuttle stats <store>',
    summary: 'objects, content bytes and versions per type, and size on disk',
    details: ['Options:', '  --json   print the figures as JSON'].join('\n'),
    options: { json: { type: 'boolean' } },
    positionals: [1, 1],
    async run([storeSpec], values) {
      return withStore(storeSpec!, async (store) => {
        const stats = await collectStats(store.backend);
        if (values.json) console.log(JSON.stringify(stats, null, 2));
        else printStats(stats);
        return 0;
      });
    },
  },
  verify: {
    usage: 'cuttle verify <store>',
    summary: 'report unreadable objects and dangling references',
    details: ['Exits with 3 when it finds a problem.', 'Options:', '  --json   print the report as JSON'].join('\n'),
    options: { json: { type: 'boolean' } },
    positionals: [1, 1],
    async run([storeSpec], values) {
      return withStore(storeSpec!, async (store) => {
        const report = await store.verify();
        const problems = report.unreadable.length + report.dangling.length;
        if (values.json) {
          console.log(JSON.stringify(report, null, 2));
        } else {
          console.log(`checked ${report.checked.toLocaleString('en')} objects: ${problems === 0 ? 'no problems' : `${problems} problem${problems === 1 ? '' : 's'}`}`);
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

/** Parses `spec` into a backend kind and path. */
export function parseStoreSpec(spec: string): { kind: BackendKind; path: string } {
  const prefixed = /^(sqlite|file):(.+)$/.exec(spec);
  if (prefixed) return { kind: prefixed[1] as BackendKind, path: prefixed[2]! };
  if (/\.(db|sqlite|sqlite3)$/i.test(spec)) return { kind: 'sqlite', path: spec };
  if (existsSync(spec) && statSync(spec).isDirectory()) return { kind: 'file' as BackendKind, path: spec };
  throw new UsageError(`cannot tell what kind of store "${spec}" is: write sqlite:${spec} or file:${spec}`);
}

async function withStore(spec: string, run: (store: Store) => Promise<number>): Promise<number> {
  const { kind, path } = parseStoreSpec(spec);
  const store = new Store({ backend: openBackend(kind, { path } as never, `store ${spec}`), cache: false });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
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

interface StoreStats {
  store: string;
  bytesOnDisk: number | null;
  types: Record<string, TypeStats>;
  total: TypeStats;
}

async function collectStats(backend: StorageBackend): Promise<StoreStats> {
  // A Map, not an object: type names such as "constructor" or "__proto__" are ordinary keys.
  const types = new Map<string, TypeStats>();
  const total = emptyStats();
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
  const path = (backend as { path?: unknown }).path;
  return { store: backend.name, bytesOnDisk: typeof path === 'string' ? diskUsage(path) : null, types: Object.fromEntries(types), total };
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

function printStats({ store, bytesOnDisk, types, total }: StoreStats): void {
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
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
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
    'A store is sqlite:<file>, file:<folder>, or a path: *.db, *.sqlite, *.sqlite3 are SQLite files,',
    'an existing folder is a file store.',
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
    if (positionals.length < min || positionals.length > max) throw new UsageError(`expected ${min === max ? min : `${min} to ${max}`} arguments, got ${positionals.length}`);
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
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error) => {
      console.error(error);
      process.exitCode = EXIT_FAILED;
    },
  );
}
