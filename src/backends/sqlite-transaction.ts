/**
 * The SQLite backend's transactions. better-sqlite3 runs a transaction function synchronously, so
 * it cannot hold one across the awaits of an async callback; instead the backend opens one with
 * `BEGIN IMMEDIATE` on its writer connection (taking the file's write lock, so no other process
 * writes until it ends), lets the callback's statements run on that connection between its awaits,
 * and commits or rolls back when the callback's promise settles. Meanwhile every other call on the
 * backend waits its turn (the backend's gate), since on the one connection it would run inside the
 * transaction. Other processes' writes wait up to `busyTimeout`; their readers see the file as it
 * was until the commit.
 * @module
 */
import type Database from 'better-sqlite3';
import { TransactionError } from '../errors.js';
import type { Query } from '../query/query.js';
import type { BackendTransaction, FindAnswer, RecordWrite, StoredRecord } from './backend.js';

/** The backend's statements on its writer connection, run synchronously inside the transaction. */
export interface SqliteTransactionSteps {
  load(type: string, id: string): StoredRecord | undefined;
  loadMany(type: string, ids: readonly string[]): Array<StoredRecord | undefined>;
  exists(type: string, id: string): boolean;
  write(write: RecordWrite): StoredRecord;
  delete(type: string, id: string, expectedVersion: number | undefined): boolean;
  /** A query on the writer connection, so it sees the transaction's own writes. */
  find(type: string, query: Query, count: boolean, typeVersion: number | undefined): FindAnswer;
  /** Wraps an error the driver threw (a damaged file becomes CorruptDataError). */
  wrap(error: unknown): unknown;
}

/**
 * Runs `work` in one IMMEDIATE transaction on `db`, which the caller holds for itself until this
 * settles. The write lock is waited for (up to `busyTimeout` ms) between turns of the event loop. @returns what `work` resolved to, and how many writes it made (for the change log's pruning).
 */
export async function runSqliteTransaction<T>(
  db: Database.Database,
  name: string,
  busyTimeout: number,
  steps: SqliteTransactionSteps,
  work: (tx: BackendTransaction) => Promise<T>,
): Promise<{ result: T; writes: number }> {
  let open = true;
  let writes = 0;
  /** Runs a step of the open transaction, synchronously once called. */
  const step = <R>(run: () => R): Promise<R> => {
    if (!open) return Promise.reject(new TransactionError(`this transaction on ${name} has ended: use it only inside its callback, and await every call`, 'ended'));
    try {
      return Promise.resolve(run());
    } catch (error) {
      return Promise.reject(steps.wrap(error));
    }
  };
  const tx: BackendTransaction = {
    load: (type, id) => step(() => steps.load(type, id)),
    loadMany: (type, ids) => step(() => steps.loadMany(type, ids)),
    exists: (type, id) => step(() => steps.exists(type, id)),
    find: (type, query, options) => step(() => steps.find(type, query, options?.count === true, options?.typeVersion)),
    write: (write) =>
      step(() => {
        writes++;
        return steps.write(write);
      }),
    delete: (type, id, expectedVersion) =>
      step(() => {
        writes++;
        return steps.delete(type, id, expectedVersion);
      }),
  };
  await begin(db, busyTimeout, steps);
  try {
    const result = await work(tx);
    open = false;
    db.exec('COMMIT');
    return { result, writes };
  } catch (error) {
    open = false;
    if (db.open && db.inTransaction) db.exec('ROLLBACK');
    throw steps.wrap(error);
  }
}

/**
 * `BEGIN IMMEDIATE`, waiting for the write lock without blocking the thread: SQLite's own busy
 * handler sleeps in the thread, so while another connection in this process held a transaction
 * open across awaits (a second backend object on the file), it could never reach its commit and
 * every wait would run to `busyTimeout`. Instead the lock is tried at once, and again after
 * timers of 1, 2, 4 ... up to 25 ms, until `busyTimeout` has passed.
 */
async function begin(db: Database.Database, busyTimeout: number, steps: SqliteTransactionSteps): Promise<void> {
  const deadline = Date.now() + busyTimeout;
  for (let wait = 1; ; wait = Math.min(wait * 2, 25)) {
    try {
      db.pragma('busy_timeout = 0');
      try {
        db.exec('BEGIN IMMEDIATE');
        return;
      } finally {
        db.pragma(`busy_timeout = ${busyTimeout}`);
      }
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw steps.wrap(error);
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
