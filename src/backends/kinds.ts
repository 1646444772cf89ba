/**
 * The backends cuttle can open by name — for `Storage.configure(kind, options)` and for the
 * `cuttle` command's store arguments (`sqlite:./app.db`, `file:./data`, `postgres://host/db`).
 * The PostgreSQL backend's module does not load `pg` until a backend is made, so importing this
 * one needs no `pg` installed.
 * @module
 */
import { InvalidOptionError } from '../errors.js';
import { checkOptions, describe } from '../options.js';
import type { StorageBackend } from './backend.js';
import { FileBackend, type FileBackendOptions } from './file.js';
import { InMemoryBackend, type InMemoryBackendOptions } from './memory.js';
import { isDatabaseFile, isInFolder } from './paths.js';
import { PostgresBackend, type PostgresBackendOptions } from './postgres.js';
import { SqliteBackend, type SqliteBackendOptions } from './sqlite.js';

/** The options of each backend kind. */
export interface BackendOptionsByKind {
  memory: InMemoryBackendOptions;
  file: FileBackendOptions;
  sqlite: SqliteBackendOptions;
  postgres: PostgresBackendOptions;
}

/** A backend name: `'memory'`, `'file'`, `'sqlite'`, `'postgres'`. */
export type BackendKind = keyof BackendOptionsByKind;

interface Kind<K extends BackendKind> {
  open(options: BackendOptionsByKind[K]): StorageBackend;
  /** The option names the backend takes. */
  options: readonly string[];
  /** What the backend's `ownsPath` answers for a store at `storePath`, without opening it. */
  owns?: (storePath: string, path: string) => boolean;
}

const KINDS: { [K in BackendKind]: Kind<K> } = {
  memory: { open: (options) => new InMemoryBackend(options), options: ['now'] },
  file: { open: (options) => new FileBackend(options), options: ['path', 'readonly', 'durable', 'lockTimeout', 'onCorrupt', 'now'], owns: isInFolder },
  sqlite: {
    open: (options) => new SqliteBackend(options),
    options: ['path', 'readonly', 'synchronous', 'busyTimeout', 'readers', 'acquireTimeoutMillis', 'now'],
    owns: (storePath, path) => storePath !== ':memory:' && isDatabaseFile(storePath, path),
  },
  postgres: {
    open: (options) => new PostgresBackend(options),
    options: ['connectionString', 'pool', 'table', 'schema', 'max', 'statementTimeout', 'connectionTimeout', 'pollInterval', 'listenConnectionString', 'now'],
  },
};

/** The kinds {@link openBackend} knows. */
export const BACKEND_KINDS = Object.keys(KINDS) as BackendKind[];

/**
 * Opens a backend by kind. `extra` names further option keys the caller accepts and strips
 * itself (so a misspelt key is reported with every valid one as a suggestion).
 */
export function openBackend<K extends BackendKind>(kind: K, options: BackendOptionsByKind[K], where: string, extra: readonly string[] = []): StorageBackend {
  const entry = Object.hasOwn(KINDS, kind) ? (KINDS[kind] as Kind<K>) : undefined;
  if (!entry) throw new InvalidOptionError(`${where}: unknown backend ${describe(kind)}; known: ${BACKEND_KINDS.join(', ')}`);
  checkOptions(where, options, [...entry.options, ...extra]);
  return entry.open(options);
}

/**
 * Whether the store of `kind` at `storePath` is `path` or holds it (what its backend's `ownsPath`
 * would say), asked before opening it, so that nothing is created for a command that is refused.
 */
export function storeOwns(kind: BackendKind, storePath: string, path: string): boolean {
  return (KINDS[kind] as Kind<BackendKind>).owns?.(storePath, path) ?? false;
}
