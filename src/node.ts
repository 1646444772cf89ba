/**
 * What Node adds to the core: the file, SQLite and PostgreSQL backend kinds (so that
 * `Storage.configure('sqlite', ...)` and the CLI can open them by name) and dump files and
 * streams (`exportTo`, `importFrom`). Imported for its effects by the Node entry (src/index.ts) and
 * the CLI; the browser entry (src/browser.ts) leaves it out.
 * @module
 */
import { FileBackend, type FileBackendOptions } from './backends/file.js';
import { isDatabaseFile, isInFolder } from './backends/paths.js';
import { PostgresBackend, type PostgresBackendOptions } from './backends/postgres.js';
import { SqliteBackend, type SqliteBackendOptions } from './backends/sqlite.js';
import { exportTo, importFrom } from './dump-files.js';
import { defineBackendKind } from './kinds.js';
import { provideDumpFiles } from './platform.js';

declare module './kinds.js' {
  interface BackendOptionsByKind {
    file: FileBackendOptions;
    sqlite: SqliteBackendOptions;
    /** The PostgreSQL backend's module loads `pg` only when a backend is made. */
    postgres: PostgresBackendOptions;
  }
}

defineBackendKind('file', {
  open: (options) => new FileBackend(options),
  options: ['path', 'readonly', 'durable', 'lockTimeout', 'onCorrupt', 'now', 'changeLogBytes'],
  owns: isInFolder,
});
defineBackendKind('sqlite', {
  open: (options) => new SqliteBackend(options),
  options: ['path', 'readonly', 'synchronous', 'busyTimeout', 'readers', 'acquireTimeoutMillis', 'now'],
  owns: (storePath, path) => storePath !== ':memory:' && isDatabaseFile(storePath, path),
});
defineBackendKind('postgres', {
  open: (options) => new PostgresBackend(options),
  options: ['connectionString', 'pool', 'table', 'schema', 'max', 'statementTimeout', 'connectionTimeout', 'pollInterval', 'listenConnectionString', 'now'],
});

provideDumpFiles({ exportTo, importFrom });
