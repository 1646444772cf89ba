/**
 * A SQLite store's online backup: better-sqlite3's `db.backup` (SQLite's backup API) copies the
 * database page by page into a temp file beside the destination, which is checked, fsynced and
 * renamed into place: a database file that opens as a store. The copy is one consistent state of
 * the database: writes through the same connection (this process's saves) are carried into it as
 * they happen; a write by another process makes SQLite start the copy over, so after
 * {@link RESTARTS_BEFORE_ONE_STEP} restarts the rest is copied in one step, under one read lock.
 * @module
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { BackupOptions, BackupSummary } from '../backup-types.js';
import { BackendError, InvalidOptionError } from '../errors.js';
import { ownedName, syncDir, writerGone } from './file-atomic.js';

/** Pages copied per step: 4 MB of 4 KB pages, then the event loop runs again. */
const PAGES_PER_STEP = 1024;
/** Restarts (another process wrote during the copy) after which the rest is copied in one step. */
export const RESTARTS_BEFORE_ONE_STEP = 3;
const ALL_PAGES = 0x7fffffff;
const TEMP_SUFFIX = '.backup.tmp';

/** Everything {@link backupDatabase} needs of the backend. */
export interface BackupSource {
  /** The connection to copy from (the backend's writer connection). */
  readonly db: Database.Database;
  /** The backend's name, for errors. */
  readonly store: string;
  /** Whether `path` is one of the store's own files. */
  owns(path: string): boolean;
}

/** Copies the database of `source` to the file `destination`. */
export async function backupDatabase(source: BackupSource, destination: string, options: BackupOptions): Promise<BackupSummary> {
  const target = resolve(destination);
  if (source.owns(target)) {
    throw new InvalidOptionError(`backup: the destination ${target} is part of the store ${source.store}: the backup would overwrite it`);
  }
  for (const companion of [`${target}-wal`, `${target}-shm`, `${target}-journal`]) {
    // A new main file beside an old database's journal would be read with that journal: refuse.
    if (existsSync(companion)) {
      throw new InvalidOptionError(`backup: ${companion} exists: ${target} looks like a database in use (or not closed cleanly); back up to another file`);
    }
  }
  const dir = dirname(target);
  const prefix = `${basename(target)}.`;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (writerGone(name, prefix, TEMP_SUFFIX)) await removeDatabase(join(dir, name));
  }
  const temp = join(dir, ownedName(prefix, TEMP_SUFFIX));
  const fail = (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BackendError(`cannot write the backup ${target}: ${(error as Error).message}`, { store: source.store, systemCode: code, file: target }, { cause: error });
  };
  try {
    let restarts = 0;
    let remaining = Infinity;
    await source.db
      .backup(temp, {
        progress: ({ totalPages, remainingPages }) => {
          if (remainingPages > remaining) restarts++;
          remaining = remainingPages;
          options.onProgress?.({ done: totalPages - remainingPages, total: totalPages, unit: 'pages' });
          return restarts >= RESTARTS_BEFORE_ONE_STEP ? ALL_PAGES : PAGES_PER_STEP;
        },
      })
      .catch(fail);
    const { count, pages } = checkCopy(temp, source.store);
    options.onProgress?.({ done: pages, total: pages, unit: 'pages' });
    const handle = await open(temp, 'r+').catch(fail);
    try {
      await handle.sync().catch(fail);
    } finally {
      await handle.close();
    }
    await rename(temp, target).catch(fail);
    await syncDir(dir).catch(fail);
    return { format: 'sqlite', destination, count };
  } catch (error) {
    await removeDatabase(temp);
    throw error;
  }
}

/**
 * Opens the copy, checks it (`quick_check`), counts its records, and folds any WAL it has into the
 * main file (closing the only connection checkpoints it), so the one file is the whole database.
 */
function checkCopy(path: string, store: string): { count: number; pages: number } {
  const db = new Database(path);
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new BackendError(`the backup copy ${path} failed its check: ${String(check)}`, { store, file: path });
    const count = db.prepare('SELECT count(*) FROM objects').pluck().get() as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { count, pages };
  } finally {
    db.close();
  }
}

/** Removes a database file and its companions. */
async function removeDatabase(path: string): Promise<void> {
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) await rm(file, { force: true });
}
