/**
 * `cuttle` on Node: the core (src/core.ts) with the file, SQLite and PostgreSQL backends (the last
 * also as `cuttle/postgres`; it needs `npm install pg`) and dump files and streams.
 * @module
 */
import './node.js';

export * from './core.js';
export { readDump } from './dump-files.js';
export { FileBackend, type FileBackendOptions } from './backends/file.js';
export { SqliteBackend, type SqliteBackendOptions, type SqliteSettings, type PoolStatus } from './backends/sqlite.js';
