/**
 * The body of one reader worker thread of the SQLite backend: its own read-only connection, which
 * streams the `objects` table in (type, id) order, a chunk per request, from one snapshot. It runs
 * the SQLite work of an export off the main thread; see `ReaderPool`.
 *
 * Requests and replies are {@link ReaderRequest} and {@link ReaderReply}: every request gets one reply.
 *
 * The body is plain JavaScript in a string, run with `new Worker(READER_SOURCE, { eval: true })`:
 * on Node 20 a worker thread does not get the main thread's module loaders (`--import tsx`), so a
 * .ts worker file would not load under tsx, and a string needs no file beside the built module.
 * @module
 */

/** What the main thread hands a new reader worker. */
export interface ReaderData {
  /** Where better-sqlite3's main module is, as `require.resolve` gives it to the main thread. */
  readonly driver: string;
  readonly path: string;
  readonly busyTimeout: number;
  /** A chunk ends after this many rows, or once its content passes `chunkBytes`. */
  readonly chunkRows: number;
  readonly chunkBytes: number;
}

/** One row of the scan: type, id, kind, content, version, updated_at. */
export type ReaderRow = [string, string, string, string, number, number];

/** A row's key and where the table keeps it. */
export type KeyRow = [type: string, id: string, rowid: number];

/** SQLite's error, as it crosses from a reader thread; `code` is SQLite's (e.g. `SQLITE_CORRUPT`). */
export interface ReaderFailure {
  readonly message: string;
  readonly code?: string;
}

/** An error a reader reported; `code` is SQLite's (e.g. `SQLITE_CORRUPT`) when it came from SQLite. */
export class ReaderError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** A row read by rowid: the row, `null` when no row has that rowid, or SQLite's error reading it. */
export type RowRead = ReaderRow | null | { readonly error: ReaderFailure };

/**
 * The reads that salvage a damaged file (`sqlite-salvage.ts`), made alike on the writer connection
 * and in a reader thread, from {@link SALVAGE_SQL}. Those that read several rows throw SQLite's
 * error; `rows` reads each row on its own and returns the error of each that fails.
 */
export interface SalvageReads {
  /** Up to `limit` keys after (type, id), in order, from the (type, id) index alone, and their rows by rowid. */
  indexed(after: readonly [string, string], limit: number): { keys: KeyRow[]; rows: RowRead[] };
  /** Up to `limit` keys of the rows after `rowid`, in rowid order, from the table alone. */
  walk(after: number, limit: number): KeyRow[];
  /** Each of these rows by rowid, from the table alone. */
  rows(rowids: readonly number[]): RowRead[];
  /** The highest rowid, or `null` for an empty table. */
  maxRowid(): number | null;
}

/** The statements behind {@link SalvageReads}: the index alone, or the table alone by rowid. */
export const SALVAGE_SQL = {
  keys: `SELECT type, id, rowid FROM objects INDEXED BY sqlite_autoindex_objects_1 WHERE (type, id) > (?, ?) ORDER BY type, id LIMIT ?`,
  walk: `SELECT type, id, rowid FROM objects NOT INDEXED WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  row: `SELECT type, id, kind, content, version, updated_at FROM objects NOT INDEXED WHERE rowid = ?`,
  maxRowid: `SELECT max(rowid) FROM objects NOT INDEXED`,
} as const;

/**
 * `next`: the next chunk of the scan, starting one if none is open. `close`: end the scan (after
 * every scan that did not reach `done`). `salvage`: one of {@link SalvageReads}, in the scan's snapshot.
 */
export type ReaderRequest =
  | { readonly op: 'next' | 'close' }
  | { readonly [K in keyof SalvageReads]: { readonly op: 'salvage'; readonly read: K; readonly args: Parameters<SalvageReads[K]> } }[keyof SalvageReads];

/** A chunk (`done` once the scan has no rows left), a salvage read's value, or the error that stopped the request. */
export type ReaderReply =
  | { readonly rows: ReaderRow[]; readonly done: boolean }
  | { readonly value: ReturnType<SalvageReads[keyof SalvageReads]> }
  | { readonly error: ReaderFailure };

/** The worker's code: CommonJS, `workerData` is a {@link ReaderData}. */
export const READER_SOURCE = String.raw`
const { parentPort, workerData: options } = require('node:worker_threads');
const Database = require(options.driver);
const SALVAGE_SQL = ${JSON.stringify(SALVAGE_SQL)};
let db, statement, scan;
const prepared = {};

function open() {
  return (db ??= new Database(options.path, { readonly: true, fileMustExist: true, timeout: options.busyTimeout }));
}

function prepare(name) {
  return (prepared[name] ??= open().prepare(SALVAGE_SQL[name]).raw());
}

function failure(error) {
  return typeof error.code === 'string' ? { message: error.message, code: error.code } : { message: String(error.message) };
}

function next() {
  statement ??= open().prepare('SELECT type, id, kind, content, version, updated_at FROM objects ORDER BY type, id').raw();
  if (scan === undefined) {
    // One read transaction for the whole scan, salvage included: every chunk comes from one snapshot.
    if (!db.inTransaction) db.exec('BEGIN');
    scan = statement.iterate();
  }
  const rows = [];
  let bytes = 0;
  while (rows.length < options.chunkRows && bytes < options.chunkBytes) {
    const step = scan.next();
    if (step.done) {
      end();
      return { rows, done: true };
    }
    rows.push(step.value);
    bytes += step.value[3].length;
  }
  return { rows, done: false };
}

function end() {
  scan?.return();
  scan = undefined;
  if (db?.inTransaction) db.exec('COMMIT');
}

function rows(rowids) {
  return rowids.map((rowid) => {
    try {
      return prepare('row').get(rowid) ?? null;
    } catch (error) {
      return { error: failure(error) };
    }
  });
}

// The same reads as connectionSource() in sqlite-salvage.ts, on this thread's connection: keep them alike.
const salvage = {
  indexed(after, limit) {
    const keys = prepare('keys').all(after[0], after[1], limit);
    return { keys, rows: rows(keys.map((key) => key[2])) };
  },
  walk: (after, limit) => prepare('walk').all(after, limit),
  rows,
  maxRowid: () => prepare('maxRowid').pluck().get(),
};

parentPort.on('message', (request) => {
  let reply;
  try {
    if (request.op === 'next') reply = next();
    else if (request.op === 'salvage') reply = { value: salvage[request.read](...request.args) };
    else {
      end();
      reply = { rows: [], done: true };
    }
  } catch (error) {
    // A failed statement leaves the transaction open, for salvage; 'close' ends it.
    scan = undefined;
    reply = { error: failure(error) };
  }
  parentPort.postMessage(reply);
});
`;
