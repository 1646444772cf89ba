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

/** `next`: the next chunk of the scan, starting one if none is open. `close`: end the open scan. */
export type ReaderRequest = { readonly op: 'next' | 'close' };

/** One row of the scan: type, id, kind, content, version, updated_at. */
export type ReaderRow = [string, string, string, string, number, number];

/** A chunk (`done` once the scan has no rows left), or the error that stopped the request. */
export type ReaderReply =
  | { readonly rows: ReaderRow[]; readonly done: boolean }
  | { readonly error: { readonly message: string; readonly code?: string } };

/** The worker's code: CommonJS, `workerData` is a {@link ReaderData}. */
export const READER_SOURCE = String.raw`
const { parentPort, workerData: options } = require('node:worker_threads');
const Database = require(options.driver);
let db, statement, scan;

function next() {
  db ??= new Database(options.path, { readonly: true, fileMustExist: true, timeout: options.busyTimeout });
  statement ??= db.prepare('SELECT type, id, kind, content, version, updated_at FROM objects ORDER BY type, id').raw();
  // The open statement holds one read transaction, so every chunk comes from the same snapshot.
  scan ??= statement.iterate();
  const rows = [];
  let bytes = 0;
  while (rows.length < options.chunkRows && bytes < options.chunkBytes) {
    const step = scan.next();
    if (step.done) {
      scan = undefined;
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
}

parentPort.on('message', (request) => {
  let reply;
  try {
    if (request.op === 'next') reply = next();
    else {
      end();
      reply = { rows: [], done: true };
    }
  } catch (error) {
    end();
    reply = { error: typeof error.code === 'string' ? { message: error.message, code: error.code } : { message: String(error.message) } };
  }
  parentPort.postMessage(reply);
});
`;
