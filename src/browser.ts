/**
 * `cuttle` in a browser (the `browser` condition of the package's exports): the core, with the
 * memory backend, and the IndexedDB backend (`Storage.configure('indexeddb', { name })`). The Node
 * backends (file, SQLite, PostgreSQL) and dump files are left out; dumps are `exportData()` /
 * `importData()`.
 * @module
 */
export * from './core.js';
export { IndexedDbBackend, type IndexedDbBackendOptions } from './indexeddb.js';
