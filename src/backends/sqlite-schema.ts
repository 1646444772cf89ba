/**
 * The SQLite backend's schema: the `objects` table, the schema version kept in
 * `PRAGMA user_version`, and the migration steps that bring an older file up to date.
 * @module
 */
import type Database from 'better-sqlite3';
import { CorruptDataError, ReadOnlyError } from '../errors.js';
import { createChangesTable } from './sqlite-changes.js';

/** One step of the schema's history: run on a file at version `index` to bring it to `index + 1`. */
export type Migration = (db: Database.Database) => void;

/**
 * The steps from version 0 (a new file, or one holding only other tables) to the current version;
 * `MIGRATIONS.length` is the current schema version. A later schema adds a step here; a step never
 * changes once released, since files made by it exist.
 */
export const MIGRATIONS: readonly Migration[] = [
  // 0 -> 1. An ordinary rowid table: its (type, id) primary key is the one index, serving lookups
  // by type + id and listings by type. For ~1 KB rows it writes ~2x and reads ~2.5x faster than a
  // WITHOUT ROWID table, whose b-tree leaves fill with content (see docs/backends/sqlite.md).
  (db) =>
    db.exec(`CREATE TABLE objects (
      type       TEXT    NOT NULL,
      id         TEXT    NOT NULL,
      kind       TEXT    NOT NULL CHECK (kind IN ('object', 'container')),
      content    TEXT    NOT NULL,
      version    INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (type, id)
    ) STRICT`),
  // 1 -> 2. The change log other connections read to learn which objects changed (sqlite-changes.ts).
  createChangesTable,
];

/** The columns of `objects` in order, with their declared types, as the current version has them. */
const COLUMNS = 'type TEXT, id TEXT, kind TEXT, content TEXT, version INTEGER, created_at INTEGER, updated_at INTEGER';

/**
 * Brings the database in `db` to the schema of `migrations` (by default the current one), or
 * throws {@link CorruptDataError} naming `file` when it is not a cuttle database or is newer than
 * this code. Leaves a file that is not cuttle's unchanged: every check and step runs in one
 * IMMEDIATE transaction, which also makes two processes opening one new file take turns.
 */
export function migrate(db: Database.Database, file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const target = migrations.length;
  // A read first: a file that is up to date (the usual case) costs no write lock.
  if (checkVersion(db, file, target) === target) return checkShape(db, file);
  db.transaction(() => {
    const version = checkVersion(db, file, target);
    if (version === target) return;
    if (version === 0 && hasObjectsTable(db)) {
      // cuttle sets the version in the transaction that creates the table: this one is not cuttle's.
      throw new CorruptDataError(`${file} is not a cuttle database: it has an objects table but no cuttle schema version`, { file });
    }
    for (let step = version; step < target; step++) migrations[step]!(db);
    checkShape(db, file);
    db.pragma(`user_version = ${target}`);
  }).immediate();
}

/**
 * For a read-only connection: checks, without writing, that the database in `db` is at the schema
 * of `migrations` (by default the current one).
 * @throws CorruptDataError naming `file`, as {@link migrate} does.
 * @throws ReadOnlyError naming `store` when the file is older and would have to be upgraded, which
 *   a read-only store cannot do (`reason` says why it is read-only).
 */
export function checkSchema(db: Database.Database, file: string, store: string, reason: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const target = migrations.length;
  const version = checkVersion(db, file, target);
  if (version === 0 && hasObjectsTable(db)) {
    throw new CorruptDataError(`${file} is not a cuttle database: it has an objects table but no cuttle schema version`, { file });
  }
  if (version < target) {
    throw new ReadOnlyError(
      store,
      `${reason}; ${file} has schema version ${version} and must be upgraded to ${target} first: open it once without readonly, where it can be written`,
    );
  }
  checkShape(db, file);
}

/** The file's schema version; throws when it is newer than `target`. */
function checkVersion(db: Database.Database, file: string, target: number): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > target) {
    throw new CorruptDataError(
      `${file} has schema version ${version}, newer than the ${target} this version of cuttle reads: ` +
        `it was written by a newer cuttle, or it is not a cuttle database`,
      { file },
    );
  }
  return version;
}

function hasObjectsTable(db: Database.Database): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'objects'`).get() !== undefined;
}

/** Throws unless `objects` is the table this code made: same columns, one primary-key index, no index but cuttle's query indexes. */
function checkShape(db: Database.Database, file: string): void {
  const columns = db.prepare(`SELECT name, type FROM pragma_table_info('objects') ORDER BY cid`).all() as { name: string; type: string }[];
  const shape = columns.map((column) => `${column.name} ${column.type}`).join(', ');
  if (shape !== COLUMNS) {
    throw new CorruptDataError(
      `${file} is not a cuttle database: ` +
        (columns.length === 0 ? 'it has no objects table' : `its objects table has the columns (${shape}), not (${COLUMNS})`),
      { file },
    );
  }
  // Besides the key, only the query indexes cuttle makes (sqlite-query.ts names them cuttle_*).
  const indexes = db.prepare(`SELECT name, origin, "unique" FROM pragma_index_list('objects')`).all() as { name: string; origin: string; unique: number }[];
  const foreign = indexes.filter((index) => index.origin !== 'pk' && !(index.origin === 'c' && index.unique === 0 && index.name.startsWith('cuttle_')));
  const key = db.prepare(`SELECT name FROM pragma_table_info('objects') WHERE pk > 0 ORDER BY pk`).pluck().all();
  if (foreign.length > 0 || indexes.filter((index) => index.origin === 'pk').length !== 1 || key.join() !== 'type,id') {
    throw new CorruptDataError(`${file} is not a cuttle database: its objects table is not keyed on (type, id) alone`, { file });
  }
}
