/**
 * `cuttle` in a browser (the `browser` condition of the package's exports): the core alone, with
 * the memory backend. The Node backends (file, SQLite, PostgreSQL) and dump files are left out;
 * dumps are `exportData()` / `importData()`.
 * @module
 */
export * from './core.js';
