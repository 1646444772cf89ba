/**
 * Opening the SQLite backend's database file: created with its folder when missing; read-only when
 * asked, or when the file or its folder cannot be written (a read-only filesystem, no permission);
 * and, for a WAL-mode file where SQLite can neither find nor create the `-shm` file that WAL readers
 * share, read from a private copy in memory (SQLite's own answer, the `immutable` URI parameter, is
 * out of reach: better-sqlite3 opens no URI filenames).
 * @module
 */
import Database from 'better-sqlite3';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { BackendError } from '../errors.js';
import { cannotOpen, readOnlyBecause, storeMissing } from './access.js';

/** A connection {@link openDatabase} made. */
export interface OpenedDatabase {
  readonly db: Database.Database;
  /** Why the connection is read-only; `undefined` when it may write. */
  readonly readOnly?: string;
  /** Whether `db` is a private copy of the file in memory, which no other connection (no reader thread) can open. */
  readonly copy: boolean;
}

/** What SQLite says when a WAL reader can neither open nor create the `-shm` file. */
const NO_SHARED_MEMORY = new Set(['SQLITE_CANTOPEN', 'SQLITE_READONLY_DIRECTORY', 'SQLITE_READONLY_CANTINIT']);

/**
 * Opens the database `path` for the backend named `store` (`':memory:'` as it is).
 * @throws BackendError naming the file when it does not exist (with `readonly`), cannot be created
 *   or cannot be opened.
 */
export function openDatabase(path: string, options: { readonly: boolean; timeout: number; store: string }): OpenedDatabase {
  const { timeout, store } = options;
  if (path === ':memory:') return { db: new Database(path, { timeout }), copy: false };
  let info;
  try {
    info = statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    throw cannotOpen(store, path, error); // ENOTDIR: a part of the path is a file
  }
  if (info?.isDirectory()) throw new BackendError(`${store}: ${path} is a folder, not a database file`, { store, systemCode: 'EISDIR', file: path });
  if (options.readonly) {
    if (info === undefined) throw storeMissing(store, path, `no file ${path}`);
    return openReadOnly(path, options, 'opened with readonly: true');
  }
  if (info !== undefined) {
    const why = whyNotWritable(path);
    if (why !== undefined) return openReadOnly(path, options, why);
  } else {
    try {
      mkdirSync(dirname(path), { recursive: true }); // like the file backend's root
    } catch (error) {
      throw cannotOpen(store, path, error);
    }
  }
  try {
    return { db: new Database(path, { timeout }), copy: false };
  } catch (error) {
    throw cannotOpen(store, path, error);
  }
}

/**
 * Why this process may not write the existing database `file`, or create the `-wal`, `-shm` and
 * `-journal` files SQLite makes beside it (it deletes them when the last connection closes, so a
 * folder it cannot write makes the file read-only too); `undefined` when it may.
 */
function whyNotWritable(file: string): string | undefined {
  for (const target of [file, dirname(file)]) {
    try {
      accessSync(target, constants.W_OK);
    } catch (error) {
      const why = readOnlyBecause(error, target);
      if (why !== undefined) return target === file ? why : `${why}, where SQLite makes its -wal and -shm files`;
      throw error;
    }
  }
  return undefined;
}

function openReadOnly(path: string, { timeout, store }: { timeout: number; store: string }, reason: string): OpenedDatabase {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout });
    db.pragma('user_version'); // the first read opens the WAL and its -shm, or fails
    return { db, readOnly: reason, copy: false };
  } catch (error) {
    db?.close();
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !NO_SHARED_MEMORY.has(code) || !inWalMode(path)) throw cannotOpen(store, path, error);
  }
  // In WAL mode, with no -shm file and no way to make one. Without a -wal holding commits, the
  // file alone is the whole database: read a copy of it, marked as a rollback-journal database so
  // that SQLite needs neither file.
  const wal = statSync(`${path}-wal`, { throwIfNoEntry: false });
  if (wal !== undefined && wal.size > 0) {
    throw new BackendError(
      `${store}: cannot read ${path} (${reason}): it is in WAL mode and ${basename(path)}-wal holds commits that SQLite reads ` +
        `only through a ${basename(path)}-shm file, which it cannot create there. Open it once where it can be written, or copy it with its -wal elsewhere`,
      { store, systemCode: 'SQLITE_CANTOPEN', file: path },
    );
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw cannotOpen(store, path, error);
  }
  bytes[18] = bytes[19] = 1; // the header's file format versions: 1 rollback journal, 2 WAL
  return { db: new Database(bytes, { readonly: true }), readOnly: reason, copy: true };
}

/** Whether the database file's header says WAL mode (bytes 18 and 19, the format versions, are 2). */
function inWalMode(path: string): boolean {
  const header = Buffer.alloc(20);
  const fd = openSync(path, 'r');
  try {
    return readSync(fd, header, 0, 20, 0) === 20 && header[18] === 2 && header[19] === 2;
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts the database in `db` in WAL mode, waiting up to `timeout` ms for other connections.
 * SQLite switches a rollback-journal file to WAL under an exclusive lock that it does not wait for
 * (the busy handler is not called): while another process holds a write transaction on the file,
 * as when two processes open one new file at once, the switch fails at once with SQLITE_BUSY. So
 * this retries, with pauses from 1 ms growing to 50 ms, until the switch is made or `timeout` has
 * passed. A file already in WAL mode costs one pragma.
 * @throws the last SqliteError when the time runs out.
 */
export function useWal(db: Database.Database, timeout: number): void {
  const deadline = Date.now() + timeout;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let wait = 1; ; wait = Math.min(2 * wait, 50)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() + wait > deadline) throw error;
    }
    Atomics.wait(pause, 0, 0, wait); // a synchronous sleep: the constructor that calls this is synchronous
  }
}
