/**
 * Runs compiled queries (sqlite-query.ts) on a better-sqlite3 connection: prepared statements
 * kept per SQL text, rows turned into records, indexes created.
 * @module
 */
import type Database from 'better-sqlite3';
import { compareIds } from '../ids.js';
import type { Query } from '../query/query.js';
import type { FindAnswer, HeldRecord, RecordKind, StoredRecord } from './backend.js';
import { allRows, compileQuery, indexStatements, uncheckedIndexes } from './sqlite-query.js';
import type { CompiledQuery } from './sql-query.js';

/** A row as the dialect's `columns` read it: the type is the query's. */
type Row = [string, RecordKind, string, number, number];

/** The record of a row of `type` (columns past the dialect's are ignored). */
function recordOf(type: string, [id, kind, content, version, updatedAt]: Row | [...Row, number]): StoredRecord {
  return { type, id, kind, content, version, updatedAt };
}

/** Statements kept, by SQL text; the oldest goes past this many. */
const KEPT = 200;

/** The query side of one SQLite connection. */
export class SqliteFinder {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  /** The indexes that find a query's unjudged rows (null: none can), by its `unchecked` SQL. */
  readonly #needed = new Map<string, readonly string[] | null>();
  /** The file's cuttle indexes, as of {@link #schemaVersion}. */
  #indexes = new Set<string>();
  #schemaVersion = -1;
  /** Runs its callback in one read transaction (a savepoint inside a write transaction). */
  readonly #snapshot: <T>(work: () => T) => T;
  /** The backend's records of `type` by id, on the same connection (so in the same snapshot). */
  readonly #loadMany: (type: string, ids: readonly string[]) => Array<StoredRecord | undefined>;

  constructor(db: Database.Database, loadMany: (type: string, ids: readonly string[]) => Array<StoredRecord | undefined>) {
    this.#db = db;
    this.#loadMany = loadMany;
    this.#snapshot = db.transaction((work) => work()) as <T>(work: () => T) => T;
  }

  /**
   * See `StorageBackend.find`. The rows left to the evaluator are read first, in the same read
   * transaction as the rest: when there are none (the usual case), the exact rows need no clause
   * leaving them out, so an indexed count or filter is served by the index alone. With `held`, and
   * an order by id alone, it reads the matching rows' ids and versions first and only the records
   * the caller does not hold whole (see `BackendFindOptions.held`).
   */
  find(type: string, query: Query, count: boolean, typeVersion: number | undefined, held?: (id: string, version: number) => boolean): FindAnswer {
    // Without the class's type version, which records the store upgrades before judging is not known.
    const compiled = typeVersion === undefined ? undefined : compileQuery(type, query, typeVersion, count);
    if (compiled === undefined) return { records: [], count: 0, unchecked: this.#rows(type, allRows(type), []), skipped: 0 };
    const plan = this.#plan(type, query, compiled, count);
    if (plan.onePass) return this.#unjudgedApart(type, compiled, count);
    if (plan.guarded) {
      const counted = this.#statement(compiled.sql.guarded).pluck().get(...compiled.params) as number | null;
      if (counted !== null) return { records: [], count: counted, unchecked: [], skipped: 0 };
    }
    return this.#snapshot(() => {
      const unchecked = plan.unchecked === '' ? [] : this.#rows(type, plan.unchecked, []);
      const exact = (which: CompiledQuery) => (unchecked.length === 0 ? which.sql.plain : which.sql.exact);
      if (count) return { records: [], count: this.#statement(exact(compiled)).pluck().get(...compiled.params) as number, unchecked, skipped: 0 };
      // Nothing to merge in: SQL may skip too, so a page of findEach reads only its own rows.
      const skipping = unchecked.length === 0 && query.skip > 0;
      const final = skipping ? compileQuery(type, query, typeVersion!, false, true)! : compiled;
      const records =
        (held !== undefined && unchecked.length === 0 && final.sql.keys !== '' ? this.#unlessHeld(type, final, query.sort[0]?.direction === -1, held) : undefined) ??
        this.#rows(type, exact(final), final.params);
      return { records, count: records.length, unchecked, skipped: skipping ? query.skip : 0 };
    });
  }

  /** The plans SQLite chooses for the statements {@link find} would run now, in order (EXPLAIN QUERY PLAN's details), or undefined when the query is not compiled. */
  explain(type: string, query: Query, count = false, typeVersion = 1): string[] | undefined {
    const compiled = compileQuery(type, query, typeVersion, count);
    if (compiled === undefined) return undefined;
    const steps = (sql: string, params: readonly unknown[]) =>
      (this.#db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((step) => step.detail);
    const plan = this.#plan(type, query, compiled, count);
    if (plan.onePass) return steps(count ? compiled.sql.onePassCount : compiled.sql.onePass, compiled.params);
    const annotated = plan.unchecked !== '' && this.#db.prepare(plan.unchecked).get() !== undefined;
    if (plan.guarded && !annotated) return steps(compiled.sql.guarded, compiled.params);
    const rest = steps(annotated ? compiled.sql.exact : compiled.sql.plain, compiled.params);
    return plan.unchecked === '' ? rest : [...steps(plan.unchecked, []), ...rest];
  }

  /**
   * Which statements {@link find} runs for `compiled`: one pass, where no index finds the rows left
   * to the evaluator and no limit stops early; else, for a count, first the guarded one (the plain
   * count unless a row is left to the evaluator); then `unchecked` (the seeks, or the one scan where
   * an index is missing; '' when the query leaves no row to the evaluator) and the rows or count.
   */
  #plan(type: string, query: Query, compiled: CompiledQuery, count: boolean): { onePass: boolean; guarded: boolean; unchecked: string } {
    const { unchecked, uncheckedScan } = compiled.sql;
    if (unchecked === '') return { onePass: false, guarded: false, unchecked: '' };
    const seekable = this.#seekable(type, compiled);
    return { onePass: !seekable && query.limit === undefined, guarded: count, unchecked: seekable ? unchecked : uncheckedScan };
  }

  /**
   * Whether indexes find the rows `compiled` leaves to the evaluator (`unchecked` is then seeks).
   * When one is missing, finding them is a scan of the type: {@link find} then reads them in one
   * scan ({@link QuerySql.uncheckedScan}), or, without a limit, reads them and the matching
   * rows in one pass ({@link QuerySql.onePass}; a limit stops early, one pass reads every match).
   */
  #seekable(type: string, compiled: CompiledQuery): boolean {
    let needed = this.#needed.get(compiled.sql.unchecked);
    if (needed === undefined) {
      needed = uncheckedIndexes(type, compiled) ?? null;
      if (this.#needed.size >= KEPT) this.#needed.clear();
      this.#needed.set(compiled.sql.unchecked, needed);
    }
    if (needed === null) return false;
    // The names known suffice when they have every index (cuttle never drops one); when one seems
    // missing, another connection may have made it since: read them again if the schema changed.
    return needed.every((name) => this.#indexes.has(name)) || needed.every((name) => this.#indexNames().has(name));
  }

  /** Runs `compiled.sql.onePass`, the unjudged rows apart from the matching ones (for a count, `onePassCount`: one row, not every match). */
  #unjudgedApart(type: string, compiled: CompiledQuery, count: boolean): FindAnswer {
    if (count) {
      const [counted, gathered] = this.#statement(compiled.sql.onePassCount).raw().get(...compiled.params) as [number, string];
      const unchecked = (JSON.parse(gathered) as Row[]).map((row) => recordOf(type, row));
      return { records: [], count: counted, unchecked, skipped: 0 };
    }
    const rows = this.#statement(compiled.sql.onePass).raw().all(...compiled.params) as Array<[...Row, number]>;
    const records: StoredRecord[] = [];
    const unchecked: StoredRecord[] = [];
    // The last column, `unjudged`, tells the rows left to the evaluator apart.
    for (const row of rows) (row[row.length - 1] ? unchecked : records).push(recordOf(type, row));
    return { records, count: records.length, unchecked, skipped: 0 };
  }

  /**
   * The rows of `compiled.sql.plain`, those `held` says the caller holds as {@link HeldRecord}s,
   * the others read whole by id; or undefined when it holds fewer than half, since reading a
   * record by id costs more than reading it in the query's own statement (which the caller then
   * runs; docs/performance.md, "Run ten").
   */
  #unlessHeld(type: string, compiled: CompiledQuery, descending: boolean, held: (id: string, version: number) => boolean): Array<StoredRecord | HeldRecord> | undefined {
    const keys = JSON.parse(this.#statement(compiled.sql.keys).pluck().get(...compiled.params) as string) as Array<[string, number]>;
    // In the query's order, by id: the aggregate promises none (though it usually keeps its subquery's).
    const order = descending ? (a: [string, number], b: [string, number]) => compareIds(b[0], a[0]) : (a: [string, number], b: [string, number]) => compareIds(a[0], b[0]);
    if (keys.some((key, i) => i > 0 && order(keys[i - 1]!, key) > 0)) keys.sort(order);
    const holds = keys.map(([id, version]) => held(id, version));
    const wanted = keys.filter((_, i) => !holds[i]).map(([id]) => id);
    if (wanted.length * 2 > keys.length) return undefined;
    const whole = this.#loadMany(type, wanted);
    let next = 0;
    return keys.map(([id, version], i): StoredRecord | HeldRecord => {
      if (holds[i]) return { type, id, version, held: true };
      const record = whole[next++];
      // Read in the same snapshot as the keys, so it is there at the version its key says.
      if (record === undefined) throw new Error(`SqliteFinder: ${type} ${JSON.stringify(id)} matched a query but was not found by its id in the same snapshot`);
      return record;
    });
  }

  /** The names of the file's cuttle indexes, read again when its schema changes (this or another connection made one). */
  #indexNames(): Set<string> {
    const version = this.#statement('PRAGMA schema_version').pluck().get() as number;
    if (version !== this.#schemaVersion) {
      const names = this.#statement(`SELECT name FROM sqlite_schema WHERE type = 'index' AND substr(name, 1, 7) = 'cuttle_'`).pluck().all() as string[];
      this.#indexes = new Set(names);
      this.#schemaVersion = version;
    }
    return this.#indexes;
  }

  /**
   * Creates the indexes of (type, path), building them over the stored rows; idempotent. An index
   * of one of their names defined otherwise (an older cuttle's number and text indexes did not hold
   * the version) is dropped and made again as now defined, in the same transaction.
   */
  createIndex(type: string, segments: readonly string[]): void {
    const statements = indexStatements(type, segments);
    if (statements.length === 0) return;
    this.#db.transaction(() => {
      const defined = new Map((this.#db.prepare(`SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'objects'`).raw().all() as Array<[string, string]>));
      for (const sql of statements) {
        const [, quoted] = /^CREATE INDEX IF NOT EXISTS "((?:[^"]|"")+)" /.exec(sql)!;
        const name = quoted!.replaceAll('""', '"');
        const existing = defined.get(name);
        // SQLite keeps the statement that made an index, less its IF NOT EXISTS.
        if (existing !== undefined && existing !== sql.replace('CREATE INDEX IF NOT EXISTS ', 'CREATE INDEX ')) this.#db.exec(`DROP INDEX "${quoted}"`);
        this.#db.exec(sql);
      }
    }).immediate();
  }

  #rows(type: string, sql: string, params: readonly unknown[]): StoredRecord[] {
    const rows = this.#statement(sql).raw().all(...params) as Row[];
    return rows.map((row) => recordOf(type, row));
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      if (this.#statements.size >= KEPT) this.#statements.delete(this.#statements.keys().next().value!);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
