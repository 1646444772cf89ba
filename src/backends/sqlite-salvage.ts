/**
 * Reads what SQLite can still read of a damaged file, for `records({ onCorrupt })`: when the
 * export's scan fails with `SQLITE_CORRUPT`, the rows after the last one it gave are read again
 * through the (type, id) index alone (whose pages are not the table's), each row by its rowid, so
 * one damaged table page costs the rows on it and nothing more. Where the index itself fails,
 * the keys are gathered from the table by rowid instead, skipping the rows it cannot reach, and
 * sorted. What cannot be read is reported, never skipped silently; everything else comes in
 * (type, id) order. The same code runs on the writer connection (`readers: 0`) and in a reader
 * thread: only the {@link SalvageReads} differ.
 * @module
 */
import type Database from 'better-sqlite3';
import { compareIds } from '../ids.js';
import { ReaderError, SALVAGE_SQL, type KeyRow, type ReaderFailure, type ReaderRow, type RowRead, type SalvageReads } from './sqlite-reader-worker.js';

/** {@link SalvageReads}, each a promise (a round trip to a reader thread, or a turn of the event loop). */
export type SalvageSource = { [K in keyof SalvageReads]: (...args: Parameters<SalvageReads[K]>) => Promise<ReturnType<SalvageReads[K]>> };

/** Something a salvage could not read. */
export interface SalvageProblem {
  /** The object that cannot be read, where the index still names it. */
  readonly type?: string;
  readonly id?: string;
  /** Table rows that cannot be read and that no readable index entry names: first and last rowid (`undefined`: to the end). */
  readonly rowids?: readonly [number, number | undefined];
  /** Set when the index cannot be read past this key: what follows is read from the table instead. */
  readonly indexAfter?: readonly [string, string];
  readonly error: ReaderFailure;
}

/** Rows per salvage read. */
const BATCH = 500;
/** Before every key: type names are never empty. */
const FIRST: readonly [string, string] = ['', ''];

/** Whether SQLite's error code says the file is damaged or is no database. */
export function isCorrupt(code: unknown): boolean {
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_'));
}

/** The error's message and code, as a reader thread sends them. */
export function failureOf(error: unknown): ReaderFailure {
  const { message, code } = error as { message?: unknown; code?: unknown };
  return typeof code === 'string' ? { message: String(message), code } : { message: String(message) };
}

/**
 * Reads every row after `after` that SQLite can still read, in (type, id) order, and passes each
 * thing it cannot read to `report`. `failed` is the scan's error; it is reported if nothing else is.
 * Errors other than SQLite's "corrupt" are thrown.
 */
export async function* salvage(
  source: SalvageSource,
  after: readonly [string, string] | undefined,
  failed: ReaderFailure,
  report: (problem: SalvageProblem) => void,
): AsyncGenerator<ReaderRow[]> {
  let reported = 0;
  const problem = (found: SalvageProblem) => {
    reported++;
    report(found);
  };
  let last = after ?? FIRST;
  /** The highest rowid the index named: where looking for more rows may stop if the table cannot say. */
  let highest = 0;
  for (;;) {
    let read: Awaited<ReturnType<SalvageSource['indexed']>>;
    try {
      read = await source.indexed(last, BATCH);
    } catch (error) {
      problem({ indexAfter: last, error: corruptOnly(error) });
      yield* fromTable(source, last, highest, problem);
      break;
    }
    const rows: ReaderRow[] = [];
    read.keys.forEach(([type, id, rowid], i) => {
      highest = Math.max(highest, rowid);
      const row = read.rows[i]!;
      if (row !== null && 'error' in row) problem({ type, id, error: corruptOnly(row.error) });
      else if (row === null || row[0] !== type || row[1] !== id) problem({ type, id, error: { message: `the (type, id) index names rowid ${rowid}, which holds no such row` } });
      else rows.push(row);
    });
    if (rows.length > 0) yield rows;
    const end = read.keys.at(-1);
    if (end === undefined || read.keys.length < BATCH) break;
    last = [end[0], end[1]];
  }
  if (reported === 0) report({ error: failed });
}

/**
 * The rows after `after`, from the table alone: every readable key is gathered in rowid order
 * (memory grows with the number of rows, only here), sorted, and each row read by rowid.
 */
async function* fromTable(
  source: SalvageSource,
  after: readonly [string, string],
  highest: number,
  problem: (found: SalvageProblem) => void,
): AsyncGenerator<ReaderRow[]> {
  let bound = highest;
  try {
    bound = Math.max(bound, (await source.maxRowid()) ?? 0);
  } catch (error) {
    corruptOnly(error); // the last rows cannot be reached: the highest rowid the index named must do
  }
  const keys: KeyRow[] = [];
  const keep = (key: KeyRow) => {
    if (compareKeys(key, after) > 0) keys.push(key);
  };
  // cuttle never sets a rowid: SQLite numbers rows from 1.
  let cursor = 0;
  let limit = BATCH;
  for (;;) {
    let batch: KeyRow[];
    try {
      batch = await source.walk(cursor, limit);
    } catch (error) {
      const failure = corruptOnly(error);
      // The rows up to the damage can still come a few at a time; then not even the next one can.
      if (limit > 1) {
        limit = Math.max(1, limit >> 3);
        continue;
      }
      const found = await nextReadable(source, cursor, bound);
      if (found.damaged) problem({ rowids: [found.damaged[0], found.row ? found.damaged[1] : undefined], error: failure });
      if (!found.row) break;
      keep([found.row[0], found.row[1], found.rowid]);
      cursor = found.rowid;
      limit = BATCH;
      continue;
    }
    batch.forEach(keep);
    if (batch.length < limit) break;
    cursor = batch.at(-1)![2];
    limit = BATCH;
  }
  keys.sort(compareKeys);
  for (let i = 0; i < keys.length; i += BATCH) {
    const slice = keys.slice(i, i + BATCH);
    const reads = await source.rows(slice.map((key) => key[2]));
    const rows: ReaderRow[] = [];
    slice.forEach(([type, id], j) => {
      const row = reads[j]!;
      if (row !== null && 'error' in row) problem({ type, id, error: corruptOnly(row.error) });
      // Gone or replaced since it was seen (the writer connection reads no snapshot): not there to export.
      else if (row !== null && row[0] === type && row[1] === id) rows.push(row);
    });
    if (rows.length > 0) yield rows;
  }
}

/**
 * The first row after `cursor` that can be read on its own, looking rowid by rowid up to `bound`,
 * and the rowids on the way that failed (first and last).
 */
async function nextReadable(
  source: SalvageSource,
  cursor: number,
  bound: number,
): Promise<{ row?: ReaderRow; rowid: number; damaged?: [number, number] }> {
  let damaged: [number, number] | undefined;
  for (let from = cursor + 1; from <= bound; from += BATCH) {
    const rowids = Array.from({ length: Math.min(BATCH, bound - from + 1) }, (_, i) => from + i);
    const reads = await source.rows(rowids);
    for (const [i, read] of reads.entries()) {
      const rowid = rowids[i]!;
      if (read === null) continue;
      if ('error' in read) {
        corruptOnly(read.error);
        damaged = [damaged?.[0] ?? rowid, rowid];
      } else return { row: read, rowid, ...(damaged && { damaged }) };
    }
  }
  return { rowid: bound, damaged: damaged ?? [cursor + 1, bound] };
}

/** The failure, if SQLite says the file is damaged; any other error is thrown. */
function corruptOnly(error: unknown): ReaderFailure {
  const failure = failureOf(error);
  if (isCorrupt(failure.code)) return failure;
  throw error instanceof Error ? error : new ReaderError(failure.message, failure.code);
}

/** (type, id) order: type names are ASCII, ids by {@link compareIds}. */
function compareKeys(a: readonly [string, string, ...unknown[]], b: readonly [string, string, ...unknown[]]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return compareIds(a[1], b[1]);
}

/** What `problem` could not read, and why, for a message after the file's name. */
export function describeProblem(problem: SalvageProblem): string {
  const { type, id, rowids, indexAfter, error } = problem;
  let what = 'a read failed';
  if (type !== undefined && id !== undefined) what = `${type} ${JSON.stringify(id)} cannot be read`;
  else if (rowids) what = `the table's rows with rowid ${rowids[0]} to ${rowids[1] ?? 'the end'} cannot be read, and no readable index entry names them`;
  else if (indexAfter && indexAfter[0] !== '') what = `its (type, id) index cannot be read past ${indexAfter[0]} ${JSON.stringify(indexAfter[1])}; the objects after it are read from the table`;
  else if (indexAfter) what = 'its (type, id) index cannot be read; the objects are read from the table';
  return `${what}: ${error.message}`;
}

/** {@link SalvageReads} on a connection of this thread, each once `before` has resolved. */
export function connectionSource(db: Database.Database, before: () => Promise<void>): SalvageSource {
  const statement = (sql: string) => db.prepare(sql).raw();
  const keys = statement(SALVAGE_SQL.keys);
  const walk = statement(SALVAGE_SQL.walk);
  const row = statement(SALVAGE_SQL.row);
  const maxRowid = db.prepare(SALVAGE_SQL.maxRowid).pluck();
  const rows = (rowids: readonly number[]): RowRead[] =>
    rowids.map((rowid) => {
      try {
        return (row.get(rowid) as ReaderRow | undefined) ?? null;
      } catch (error) {
        return { error: failureOf(error) };
      }
    });
  const reads: SalvageReads = {
    indexed(after, limit) {
      const found = keys.all(after[0], after[1], limit) as KeyRow[];
      return { keys: found, rows: rows(found.map((key) => key[2])) };
    },
    walk: (after, limit) => walk.all(after, limit) as KeyRow[],
    rows,
    maxRowid: () => maxRowid.get() as number | null,
  };
  const step =
    <A extends unknown[], R>(read: (...args: A) => R) =>
    async (...args: A): Promise<R> => {
      await before();
      return read(...args);
    };
  return { indexed: step(reads.indexed), walk: step(reads.walk), rows: step(reads.rows), maxRowid: step(reads.maxRowid) };
}
