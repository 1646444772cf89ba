import { createHash, randomUUID } from 'node:crypto';
import type { Client, Pool, PoolClient } from 'pg';
import { ClosedError, ConflictError, InvalidOptionError } from '../errors.js';
import { checkInteger, checkOneOf, checkOptions, describe } from '../options.js';
import {
  StorageBackend,
  type BackendCapabilities,
  type ChangeListener,
  type RecordKind,
  type RecordWrite,
  type StoredRecord,
  type BackendTransaction,
  type BackendTransactionOptions,
  type SearchAnswer,
} from './backend.js';
import { loadPg, pgFailure } from './postgres-driver.js';
import { runPostgresTransaction, transactionStatements, type PostgresTransactionHost } from './postgres-transaction.js';
import { ChangeFeed, Notifier, type AnnouncedChange } from './postgres-listener.js';
import type { FeedStatus } from './postgres-status.js';

export type { FeedStatus } from './postgres-status.js';

/** The isolation levels of {@link PostgresBackend.transaction}; see {@link PostgresBackendOptions.isolation}. */
export type PostgresIsolation = 'serializable' | 'repeatable read';
import { migratePostgres } from './postgres-schema.js';
import { postgresDialect, postgresFind, postgresIndexStatements, type RunSql } from './postgres-query.js';
import type { SqlDialect } from './sql-query.js';
import type { Query as CheckedQuery } from '../query/query.js';
import type { SearchTerm } from '../query/search.js';
import { batchWithSide, PostgresSearch, searchVariants } from './postgres-search.js';
import type { BackendFindOptions, FindAnswer } from './backend.js';
import { batchStatements, channelOf, qualified, Chunker, decodeContent, encodeContent, IDENTIFIER, statements, type TableNames } from './postgres-sql.js';
import type { PoolStatus } from './sqlite-reader.js';

/**
 * The part of a `pg.Pool` the backend uses; pass your own `new pg.Pool(...)`. Declared here so
 * cuttle's types do not need `@types/pg`.
 */
export interface PostgresPool {
  connect(): Promise<unknown>;
  query(...args: never[]): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  readonly totalCount: number;
  readonly idleCount: number;
  readonly waitingCount: number;
  /** pg-pool keeps its configuration here; the change feed's connection is made from it. */
  readonly options?: object;
}

/** Options of {@link PostgresBackend}: `connectionString` or `pool`, not both. */
export interface PostgresBackendOptions {
  /** Where to connect, e.g. `postgres://user@host:5432/app`: the backend makes its own pool, and closes it. */
  connectionString?: string;
  /** Your own `pg.Pool`, used as it is and not closed by {@link PostgresBackend.close}. */
  pool?: PostgresPool;
  /** The table, `[A-Za-z_][A-Za-z0-9_]*`, made on first use. @default 'objects' */
  table?: string;
  /** The schema holding the table, made on first use if missing. @default 'public' */
  schema?: string;
  /** The most connections the backend's own pool opens (not with `pool`). @default 10 */
  max?: number;
  /** PostgreSQL's `statement_timeout` for the backend's own pool, in ms; 0 is none (not with `pool`). @default 0 */
  statementTimeout?: number;
  /** How long to wait for a connection, in ms; 0 waits forever (not with `pool`). @default 10000 */
  connectionTimeout?: number;
  /**
   * Milliseconds between the change feed's checks: each reads the change sequence on the listening
   * connection, so it is both the heartbeat (no answer by the next check: the connection is
   * replaced) and the fallback that turns an unheard change into a reset. @default 2000
   */
  pollInterval?: number;
  /**
   * Where the change feed listens, when that must differ from the pool's connection: behind
   * PgBouncer in transaction mode, which cannot carry LISTEN, give the server itself (or a session-mode
   * PgBouncer) here. @default the pool's connection
   */
  listenConnectionString?: string;
  /**
   * The isolation level of {@link PostgresBackend.transaction}. `'serializable'` makes every
   * transaction behave as if the transactions ran one at a time (what it read is still true at its
   * commit); `'repeatable read'` (snapshot isolation) still refuses lost updates of an object two
   * transactions both write, but lets two transactions each read what the other writes and both
   * commit (write skew). Either may fail a transaction for a conflict, which is then run again
   * (see docs/transactions.md). @default 'serializable'
   */
  isolation?: PostgresIsolation;
  /** The clock for `updatedAt` and `created_at`, in ms since the epoch. @default Date.now */
  now?: () => number;
}

const OPTIONS = [
  'connectionString',
  'pool',
  'table',
  'schema',
  'max',
  'statementTimeout',
  'connectionTimeout',
  'pollInterval',
  'listenConnectionString',
  'isolation',
  'now',
] as const;
const OWN_POOL_ONLY = ['max', 'statementTimeout', 'connectionTimeout'] as const;
/** Rows per FETCH of {@link PostgresBackend.records} at most; fewer when they are large. */
const FETCH_ROWS = 500;
const FETCH_CHARS = 1 << 20;
/** How often a checked write is retried when the object changed back to the expected version meanwhile. */
const CHECKED_RETRIES = 5;
/** How many query statements a backend prepares after each index it makes (see `#preparedName`); later ones run unnamed. */
const PREPARED = 200;

type Row = unknown[];

/** A query's config for pg, rows as arrays; `name`: prepared under that name. */
function statement(text: string, values: readonly unknown[], name: string | undefined) {
  const config = { text, values: values as unknown[], rowMode: 'array' as const };
  return name === undefined ? config : { ...config, name };
}

/**
 * Keeps records in one PostgreSQL table through `pg`: `objects(type, id, kind, content, version,
 * created_at, updated_at)`, keyed on (type, id), both `COLLATE "C"`. A save is one statement (an
 * upsert computing the version, or a checked insert/update for `expectedVersion`); batches and
 * imports are one transaction of multi-row statements; exports stream through a cursor. Many
 * processes and servers may share a table: `expectedVersion` is checked by the statement that
 * writes, and {@link changes} reports what the others changed (LISTEN/NOTIFY with a polled
 * sequence behind it; see docs/backends/postgres.md for the exact guarantee).
 */
export class PostgresBackend extends StorageBackend {
  readonly name: string;
  /** The schema and table, as `schema.table`. */
  readonly table: string;
  readonly #pool: Pool;
  readonly #ownPool: boolean;
  readonly #sql: AllStatements;
  readonly #batch: ReturnType<typeof batchStatements>;
  /** The batches' statements with the search rows of their searchable objects. */
  readonly #searchBatch: ReturnType<typeof searchBatchStatements>;
  /** The search indexes' registry as last read, builds and searches (postgres-search.ts). */
  readonly #search: PostgresSearch;
  readonly #where: TableNames;
  readonly #dialect: SqlDialect;
  /** The prepared statements' names: the table's, so that backends on one pool never mix theirs. */
  readonly #names: Record<keyof AllStatements, string>;
  /** The names of the query statements prepared, by SQL text. */
  readonly #prepared = new Map<string, string>();
  /** Counts the indexes this backend made: part of each prepared name (see {@link #preparedName}). */
  #indexesMade = 0;
  readonly #now: () => number;
  readonly #origin = randomUUID().slice(0, 13);
  readonly #notifier: Notifier;
  readonly #feed: ChangeFeed;
  readonly #max: number;
  /** Clients held by records() iterators, destroyed by close() if their consumer walked away. */
  readonly #cursors = new Set<PoolClient>();
  readonly #transactions: PostgresTransactionHost;
  #ready: Promise<void> | undefined;
  #migrated = false;
  #closed = false;

  constructor(options: PostgresBackendOptions) {
    super();
    checkOptions('PostgresBackend', options, OPTIONS);
    const given = options ?? {};
    if ((given.connectionString === undefined) === (given.pool === undefined)) {
      throw new InvalidOptionError(`PostgresBackend: give connectionString or pool (one of them), got ${given.pool === undefined ? 'neither' : 'both'}`);
    }
    if (given.connectionString !== undefined && (typeof given.connectionString !== 'string' || given.connectionString === '')) {
      throw new InvalidOptionError(`PostgresBackend: connectionString must be a non-empty string, got ${describe(given.connectionString)}`);
    }
    if (given.pool !== undefined && (typeof given.pool !== 'object' || given.pool === null || typeof given.pool.connect !== 'function' || typeof given.pool.query !== 'function')) {
      throw new InvalidOptionError(`PostgresBackend: pool must be a pg.Pool, got ${describe(given.pool)}`);
    }
    if (given.pool !== undefined) {
      const own = OWN_POOL_ONLY.find((key) => given[key] !== undefined);
      if (own) throw new InvalidOptionError(`PostgresBackend: ${own} applies to the backend's own pool; with pool, set it on your pool`);
    }
    const table = given.table ?? 'objects';
    const schema = given.schema ?? 'public';
    for (const [key, value] of [['table', table], ['schema', schema]] as const) {
      if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
        throw new InvalidOptionError(`PostgresBackend: ${key} must match [A-Za-z_][A-Za-z0-9_]*, got ${describe(value)}`);
      }
    }
    const names = { schema, table };
    if (Buffer.byteLength(channelOf(names)) > 63) {
      throw new InvalidOptionError(`PostgresBackend: schema and table together must be at most 55 characters (the change feed's channel "${channelOf(names)}" is longer than PostgreSQL's 63)`);
    }
    checkInteger('PostgresBackend', 'max', given.max, 1, 10_000);
    checkInteger('PostgresBackend', 'statementTimeout', given.statementTimeout, 0, 2 ** 31 - 1);
    checkInteger('PostgresBackend', 'connectionTimeout', given.connectionTimeout, 0, 2 ** 31 - 1);
    checkInteger('PostgresBackend', 'pollInterval', given.pollInterval, 10, 2 ** 31 - 1);
    if (given.listenConnectionString !== undefined && (typeof given.listenConnectionString !== 'string' || given.listenConnectionString === '')) {
      throw new InvalidOptionError(`PostgresBackend: listenConnectionString must be a non-empty string, got ${describe(given.listenConnectionString)}`);
    }
    if (given.now !== undefined && typeof given.now !== 'function') {
      throw new InvalidOptionError(`PostgresBackend: now must be a function, got ${describe(given.now)}`);
    }
    checkOneOf('PostgresBackend', 'isolation', given.isolation, ['serializable', 'repeatable read']);
    const pg = loadPg();

    this.table = `${schema}.${table}`;
    this.#where = names;
    this.#dialect = postgresDialect(qualified(names).objects);
    this.#now = given.now ?? Date.now;
    this.#sql = allStatements(names);
    this.#batch = batchStatements(names);
    this.#searchBatch = searchBatchStatements(names);
    this.#search = new PostgresSearch(names);
    this.#names = Object.fromEntries(Object.keys(this.#sql).map((key) => [key, `cuttle ${this.table} ${key}`])) as Record<keyof AllStatements, string>;
    this.#ownPool = given.pool === undefined;
    if (given.pool) {
      this.#pool = given.pool as unknown as Pool;
      this.#max = (this.#pool.options as { max?: number } | undefined)?.max ?? 10;
    } else {
      this.#max = given.max ?? 10;
      this.#pool = new pg.Pool({
        connectionString: given.connectionString,
        max: this.#max,
        connectionTimeoutMillis: given.connectionTimeout ?? 10_000,
        ...(given.statementTimeout ? { statement_timeout: given.statementTimeout } : {}),
        application_name: 'cuttle',
      });
      // An idle connection the server closed (a restart, pg_terminate_backend) is dropped by the
      // pool; without a listener its error would end the process.
      this.#pool.on('error', () => {});
    }
    const config = (this.#pool.options ?? {}) as unknown as Record<string, unknown>;
    this.name = `postgres://${describeServer(given.connectionString, config)}#${this.table}`;

    const channel = channelOf(names);
    this.#notifier = new Notifier(this.#origin, (payloads) =>
      this.#pool.query({ name: `cuttle notify`, text: `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, values: [channel, payloads] }),
    );
    const listenConfig = given.listenConnectionString !== undefined ? { connectionString: given.listenConnectionString } : clientConfig(config);
    this.#feed = new ChangeFeed({
      channel,
      origin: this.#origin,
      client: () => new pg.Client({ ...listenConfig, keepAlive: true, keepAliveInitialDelayMillis: 10_000, application_name: 'cuttle listener' }) as Client,
      ready: () => this.#ensureReady(),
      lastChange: this.#sql.lastChange,
      pollInterval: given.pollInterval ?? 2000,
    });
    const txStatements = transactionStatements(names);
    this.#transactions = {
      name: this.name,
      isolation: given.isolation ?? 'serializable',
      connect: () => this.#connect(),
      statements: txStatements,
      names: Object.fromEntries(Object.keys(txStatements).map((key) => [key, `cuttle ${this.table} ${key}`])) as PostgresTransactionHost['names'],
      now: this.#now,
      // The transaction is the snapshot (unless the caller chose read committed).
      find: (run, type, query, count, typeVersion) => postgresFind(this.#dialect, run, (work) => work(run), type, query, count, typeVersion),
      search: this.#search,
      announce: (changes, seqs) => this.#announce(changes, seqs),
      check: () => this.#check(),
      failure: pgFailure,
    };
  }

  /** The pool's state: connections open, idle, in use, callers waiting for one, and the most it opens. */
  get pool(): PoolStatus {
    const { totalCount, idleCount, waitingCount } = this.#pool;
    return Object.freeze({ size: totalCount, available: idleCount, borrowed: totalCount - idleCount, pending: waitingCount, max: this.#max });
  }

  /** The change feed's listening connection, for diagnostics and tests. */
  get feed(): FeedStatus {
    return this.#feed.status;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  override get capabilities(): BackendCapabilities {
    return { ...super.capabilities, atomicBatch: true, atomicImport: true, transactions: true, changeFeed: true, query: true, search: this.#search.usable };
  }

  /**
   * A GIN index over the tokens of `fields` (postgres-search.ts), kept in step by every write of
   * this backend in the write's own statement, and by triggers that mark what other writers change;
   * built now (and rows others left unjudged judged again).
   */
  override async createSearchIndex(type: string, fields: readonly (readonly string[])[], typeVersion: number): Promise<void> {
    if (!this.#search.usable) return;
    await this.#withClient((client) => this.#search.create(client, type, fields, typeVersion));
  }

  /** Answered from the index of exactly `fields` and `typeVersion`, if there is one (see postgres-search.ts). */
  override async search(type: string, fields: readonly (readonly string[])[], terms: readonly SearchTerm[], typeVersion: number): Promise<SearchAnswer | undefined> {
    return this.#withClient((client) => this.#search.answer(client, type, fields, terms, typeVersion));
  }

  /**
   * The statements of a search of `type` for `terms` and their parameters (see
   * `PostgresSearch.searchSql`), to EXPLAIN them.
   */
  searchStatements(type: string, terms: readonly SearchTerm[]): { sql: { stats: string; matches: string; unjudged: string }; values: string[] } {
    return this.#search.searchSql(type, terms);
  }

  /** Compiled to SQL over `content::json` where the query reads plain JSON, the rest left to the store's evaluator (see postgres-query.ts). */
  override async find(type: string, query: CheckedQuery, options?: BackendFindOptions): Promise<FindAnswer> {
    return postgresFind(this.#dialect, (text, values) => this.#run(text, values, this.#preparedName(text)), (work) => this.#readSnapshot(work), type, query, options?.count === true, options?.typeVersion);
  }

  /** Runs `work`'s statements (prepared as {@link find}'s are) in one read-only REPEATABLE READ transaction, so in one snapshot. */
  async #readSnapshot<T>(work: (run: RunSql) => Promise<T>): Promise<T> {
    return this.#onOneConnection('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', (client) =>
      work(async (text, values) => (await client.query(statement(text, values, this.#preparedName(text)))).rows as unknown[][]),
    );
  }

  /**
   * The name to prepare a query's statement under (each connection then parses and plans it once,
   * where an unnamed statement is planned on every run: about 1 ms for a compiled query), or
   * undefined past {@link PREPARED} texts, which run unnamed, so the server's memory stays bounded.
   * The name is the text's hash: backends sharing a pool (whose connections hold the prepared
   * statements) then give one text one name, and never one name to two texts. It also holds how
   * many indexes this backend made, so a statement is prepared again after one: PostgreSQL kept
   * planning a statement prepared before an index anew at every run (1.6 ms for a sorted top-20)
   * where one prepared after it used its generic plan, since the plan cache compares the cost of
   * a generic plan it built without the index.
   */
  #preparedName(text: string): string | undefined {
    let name = this.#prepared.get(text);
    if (name === undefined && this.#prepared.size < PREPARED) {
      name = `cuttle find ${this.#indexesMade} ${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`;
      this.#prepared.set(text, name);
    }
    return name;
  }

  /**
   * Expression indexes on the path, partial to the type, and statistics on its annotations (see
   * docs/query.md); built now, unless the last of them exists (they are made in order). Then the
   * table is analyzed, so that the planner knows the new expressions from the next query on rather
   * than after the next autovacuum.
   */
  override async createIndex(type: string, path: readonly string[]): Promise<void> {
    const { statements, last } = postgresIndexStatements(this.#dialect, this.#where, type, path);
    if (statements.length === 0) return;
    const [[exists]] = (await this.#run('SELECT to_regclass($1) IS NOT NULL', [last])) as [[boolean]];
    if (exists) return;
    for (const text of statements) {
      try {
        await this.#run(text, []);
      } catch (error) {
        // Another backend made it at the same moment (IF NOT EXISTS is not atomic): it exists.
        const code = (error as { code?: unknown }).code;
        if (code !== '23505' && code !== '42P07' && code !== '42710') throw error;
      }
    }
    await this.#run(`ANALYZE ${this.#dialect.table}`, []);
    this.#indexesMade++;
    this.#prepared.clear();
  }

  /**
   * One transaction on one pooled connection, at `options.isolation` (SERIALIZABLE by default),
   * `work` run again after a serialization failure or a deadlock, at most `retries` more times
   * (see postgres-transaction.ts). Other calls on this backend go on meanwhile, on other connections.
   */
  override async transaction<T>(work: (tx: BackendTransaction) => Promise<T>, options: BackendTransactionOptions): Promise<T> {
    return runPostgresTransaction(this.#transactions, work, options.retries);
  }

  async load(type: string, id: string): Promise<StoredRecord | undefined> {
    const row = (await this.#query('load', [type, id]))[0] as [RecordKind, string, number, number] | undefined;
    return row && { type, id, kind: row[0], content: decodeContent(row[1]), version: row[2], updatedAt: row[3] };
  }

  /**
   * The stored version of (type, id), or `undefined` when it is not stored: one small query (no
   * content), for a store that checks a cached object is current before returning it (strict reads).
   */
  override async loadVersion(type: string, id: string): Promise<number | undefined> {
    return (await this.#query('loadVersion', [type, id]))[0]?.[0] as number | undefined;
  }

  /** One statement (`id = ANY($2)`) for any number of ids. */
  override async loadMany(type: string, ids: readonly string[]): Promise<Array<StoredRecord | undefined>> {
    if (ids.length === 0) return [];
    const rows = (await this.#query('loadMany', [type, ids])) as Array<[string, RecordKind, string, number, number]>;
    const byId = new Map(rows.map((row) => [row[0], row]));
    return ids.map((id) => {
      const row = byId.get(id);
      return row && { type, id, kind: row[1], content: decodeContent(row[2]), version: row[3], updatedAt: row[4] };
    });
  }

  override async exists(type: string, id: string): Promise<boolean> {
    return (await this.#query('exists', [type, id])).length > 0;
  }

  override async count(type: string): Promise<number> {
    return (await this.#query('count', [type]))[0]![0] as number;
  }

  /** Sorted by the "C" collation, the UTF-8 byte order, which is {@link compareIds}' order. */
  async list(type: string): Promise<string[]> {
    return (await this.#query('list', [type])).map((row) => row[0] as string);
  }

  async listTypes(): Promise<string[]> {
    return (await this.#query('listTypes', [])).map((row) => row[0] as string);
  }

  async write(write: RecordWrite): Promise<StoredRecord> {
    const now = this.#now();
    const [version, seq] = await this.#writeOne((key, values) => this.#query(key, values), write, now);
    await this.#announce([{ type: write.type, id: write.id, version, deleted: false }], [seq]);
    return { type: write.type, id: write.id, kind: write.kind, content: write.content, version, updatedAt: now };
  }

  /**
   * One transaction of multi-row upserts (a write with `expectedVersion` runs as its own checked
   * statement in it, in order): a conflict or any failure anywhere, including an exception from the
   * `writes` iterable, writes none of it.
   */
  override async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    const now = this.#now();
    const stored: StoredRecord[] = [];
    const changes: AnnouncedChange[] = [];
    // Checked writes take a sequence number each, and the batch one at its end.
    const seqs: number[] = [];
    let rolledBack = false;
    const work = async (query: Query, run: Run) => {
      const chunker = new Chunker<RecordWrite & { slot: number }>();
      const flush = async () => {
        const rows = chunker.take();
        if (rows.length === 0) return;
        const values: unknown[] = [];
        for (const row of rows) values.push(row.type, row.id, row.kind, encodeContent(row.content));
        values.push(now);
        const side = this.#sideRows(rows);
        const result = side === undefined ? await run(this.#batch.writeRows(rows.length), values) : await run(this.#searchBatch.writeRows(rows.length), [...values, ...side.arrays]);
        if (side !== undefined) this.#checkSide(side, result[0]![3] as number);
        const versions = new Map<string, number>();
        for (const [type, id, version] of result as Array<[string, string, number]>) versions.set(`${type}\u0000${id}`, version);
        for (const row of rows) stored[row.slot] = this.#stored(row, versions.get(`${row.type}\u0000${row.id}`)!, now);
      };
      for (const write of writes) {
        this.#check();
        const slot = stored.length;
        stored.push(undefined as never);
        if (write.expectedVersion !== undefined) {
          await flush();
          const [version, taken] = await this.#writeOne(query, write, now);
          seqs.push(taken);
          stored[slot] = this.#stored(write, version, now);
          continue;
        }
        const row = Object.assign({}, write, { slot });
        if (chunker.full(row)) await flush();
        chunker.add(row);
      }
      await flush();
      if (stored.length > 0) seqs.push((await query('bump', []))[0]![0] as number);
    };
    try {
      await this.#transaction(async (query, run) => {
        try {
          await work(query, run);
        } catch (error) {
          // Before COMMIT: the transaction is rolled back, and the numbers its checked writes took stay unused.
          rolledBack = true;
          throw error;
        }
      });
    } catch (error) {
      if (rolledBack && seqs.length > 0) void this.#announce([], seqs);
      throw error;
    }
    for (const record of stored) changes.push({ type: record.type, id: record.id, version: record.version, deleted: false });
    if (changes.length > 0) await this.#announce(changes, seqs);
    return stored;
  }

  async put(record: StoredRecord): Promise<void> {
    const values = [record.type, record.id, record.kind, encodeContent(record.content), record.version, record.updatedAt];
    const side = this.#search.values(record.type, record.id, record.content);
    const rows = side === undefined ? await this.#query('put', values) : await this.#query('putSearch', [...values, ...side]);
    if (side !== undefined && rows[0]![1] === 0) this.#search.forget(record.type);
    await this.#announce([{ type: record.type, id: record.id, version: record.version, deleted: false }], [rows[0]![0] as number]);
  }

  /** One transaction of multi-row statements: all or nothing. */
  override async putMany(records: Iterable<StoredRecord>): Promise<void> {
    const changes: AnnouncedChange[] = [];
    let seq = 0;
    await this.#transaction(async (query, run) => {
      if ((await this.#putRows(run, records, changes)) > 0) seq = (await query('bump', []))[0]![0] as number;
    });
    if (changes.length > 0) await this.#announce(changes, [seq]);
  }

  /** With `expectedVersion`, one statement that deletes only that version (0: none, after a check). */
  async delete(type: string, id: string, expectedVersion?: number): Promise<boolean> {
    if (expectedVersion === 0) {
      const actual = (await this.loadVersion(type, id)) ?? 0;
      if (actual !== 0) throw new ConflictError(type, id, 0, actual);
      return false;
    }
    for (let attempt = 0; ; attempt++) {
      const row = (await (expectedVersion === undefined ? this.#query('delete', [type, id]) : this.#query('deleteChecked', [type, id, expectedVersion])))[0] as [number, number] | undefined;
      if (row) {
        await this.#announce([{ type, id, version: row[0], deleted: true }], [row[1]]);
        return true;
      }
      if (expectedVersion === undefined) return false;
      // Refused: the version now stored decides; equal to the expected one, it changed back meanwhile.
      const actual = (await this.loadVersion(type, id)) ?? 0;
      if (actual !== expectedVersion || attempt >= CHECKED_RETRIES) throw new ConflictError(type, id, expectedVersion, actual);
    }
  }

  /** One statement (`id = ANY($2)`). */
  override async deleteMany(type: string, ids: readonly string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const rows = (await this.#query('deleteMany', [type, ids])) as Array<[string, number, number]>;
    const deleted = new Set(rows.map((row) => row[0]));
    if (rows.length > 0) {
      const changes = rows.map(([id, version]) => ({ type, id, version, deleted: true }));
      await this.#announce(changes, rows.map((row) => row[2]));
    }
    return ids.map((id) => deleted.has(id));
  }

  /** One statement; announced to the change feed as a reset. */
  async clear(): Promise<void> {
    const rows = await this.#query('clear', []);
    await this.#announce('reset', [rows[0]![1] as number]);
  }

  /**
   * One transaction held open while `records` is read, so a bad record anywhere (the iterable
   * throws) or any failure rolls back everything, including the clearing for `replace`. Rows go in
   * multi-row statements of up to 1,000. Announced to the change feed as one reset. Other calls on
   * this backend go on meanwhile, on other connections.
   */
  override async importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    let count = 0;
    let seq = 0;
    await this.#transaction(async (query, run) => {
      if (options.replace) await query('clear', []);
      const chunker = new Chunker<StoredRecord>();
      for await (const record of records) {
        this.#check();
        if (chunker.full(record)) await this.#putRows(run, chunker.take(), undefined);
        chunker.add(record);
        count++;
      }
      await this.#putRows(run, chunker.take(), undefined);
      seq = (await query('bump', []))[0]![0] as number;
    });
    await this.#announce('reset', [seq]);
    return count;
  }

  /**
   * Every record in (type, id) order, from one snapshot (a REPEATABLE READ, READ ONLY transaction)
   * through a server-side cursor, fetched up to 500 rows or about 1 MB at a time, so an export
   * holds one chunk in memory however large the table. Holds one pool connection until it ends.
   */
  override async *records(): AsyncIterableIterator<StoredRecord> {
    const client = await this.#connect();
    this.#cursors.add(client);
    let open = false;
    let failed: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      open = true;
      await client.query(`DECLARE cuttle_records NO SCROLL CURSOR FOR ${this.#sql.records}`);
      let rows = FETCH_ROWS;
      for (;;) {
        const { rows: chunk } = await client.query({ text: `FETCH ${rows} FROM cuttle_records`, rowMode: 'array' });
        let chars = 0;
        for (const [type, id, kind, content, version, updatedAt] of chunk as Array<[string, string, RecordKind, string, number, number]>) {
          chars += content.length;
          yield { type, id, kind, content: decodeContent(content), version, updatedAt };
          this.#check();
        }
        if (chunk.length < rows) break;
        rows = Math.max(1, Math.min(FETCH_ROWS, Math.floor((FETCH_CHARS * chunk.length) / Math.max(1, chars))));
      }
      await client.query('COMMIT');
      open = false;
    } catch (error) {
      failed = error as Error;
      this.#check();
      throw pgFailure(error);
    } finally {
      // close() destroys the connection of an export whose consumer walked away.
      if (this.#cursors.delete(client)) {
        // Ended early by the consumer (return()), the transaction is still open.
        if (open && failed === undefined) await client.query('ROLLBACK').catch((error: Error) => (failed = error));
        client.release(failed ?? false);
      }
    }
  }

  /**
   * Reports what other backend objects (other processes, other servers, or another backend in
   * this one) change in this table: each save, delete or batch as its objects' keys and versions;
   * clears and imports as a reset; and a reset each time the listening connection is (re)made, and
   * whenever the poll finds a change that was never heard. Own changes are not reported.
   * The first subscriber opens one dedicated connection (not from the pool); the last one to leave closes it.
   */
  override changes(listener: ChangeListener): () => void {
    this.#check();
    if (typeof listener !== 'function') throw new TypeError(`changes expects a function, got ${describe(listener)}`);
    return this.#feed.subscribe(listener);
  }

  /**
   * Resolves once the changes other backends announced before this call have reached this one's
   * change listeners (a Store's cache has dropped them): one round trip on the listening
   * connection. For tests and for a caller that must read what another server has just written.
   */
  catchUp(): Promise<void> {
    this.#check();
    return this.#feed.catchUp();
  }

  /** Ends the listening connection and, when the backend made it, the pool. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#feed.close();
    await this.#notifier.drain();
    for (const client of this.#cursors) client.release(true);
    this.#cursors.clear();
    if (this.#ownPool) await this.#pool.end();
  }

  /** Announces `changes` (or a reset) made by writes that took the sequence numbers `seqs`; with no changes, numbers that rolled-back writes took. */
  async #announce(changes: readonly AnnouncedChange[] | 'reset', seqs: readonly number[]): Promise<void> {
    for (const seq of seqs) this.#feed.heard(seq);
    await this.#notifier.announce(changes, seqs);
  }

  /** The upsert, or the checked create/update for `expectedVersion`. @returns the new version and its sequence number. */
  async #writeOne(query: Query, write: RecordWrite, now: number): Promise<[version: number, seq: number]> {
    const content = encodeContent(write.content);
    const expected = write.expectedVersion;
    // A searchable type's write carries its tokens, written in the same statement (postgres-search.ts).
    const side = this.#search.values(write.type, write.id, write.content);
    const written = (rows: Row[]) => {
      if (side !== undefined && rows.length > 0 && rows[0]![2] === 0) this.#search.forget(write.type);
      return rows;
    };
    const run = (key: 'write' | 'create' | 'update', values: unknown[]) => (side === undefined ? query(key, values) : query(`${key}Search`, [...values, ...side]).then(written));
    if (expected === undefined) return (await run('write', [write.type, write.id, write.kind, content, now]))[0] as [number, number];
    for (let attempt = 0; ; attempt++) {
      const rows =
        expected === 0
          ? await run('create', [write.type, write.id, write.kind, content, now])
          : await run('update', [write.type, write.id, write.kind, content, now, expected]);
      if (rows.length > 0) return rows[0] as [number, number];
      // Refused: the version now stored decides. Equal to the expected one, the object changed and
      // changed back since the statement looked: try again.
      const actual = ((await query('loadVersion', [write.type, write.id]))[0]?.[0] as number | undefined) ?? 0;
      if (actual !== expected || attempt >= CHECKED_RETRIES) throw new ConflictError(write.type, write.id, expected, actual);
    }
  }

  /** Puts `records` in multi-row statements. @returns how many it put. */
  async #putRows(run: Run, records: Iterable<StoredRecord>, changes: AnnouncedChange[] | undefined): Promise<number> {
    let count = 0;
    const chunker = new Chunker<StoredRecord>();
    const flush = async () => {
      const rows = chunker.take();
      if (rows.length === 0) return;
      const values: unknown[] = [];
      for (const row of rows) values.push(row.type, row.id, row.kind, encodeContent(row.content), row.version, row.updatedAt);
      const side = this.#sideRows(rows);
      if (side === undefined) await run(this.#batch.putRows(rows.length), values);
      else this.#checkSide(side, (await run(this.#searchBatch.putRows(rows.length), [...values, ...side.arrays]))[0]![1] as number);
      if (changes) for (const row of rows) changes.push({ type: row.type, id: row.id, version: row.version, deleted: false });
    };
    for (const record of records) {
      this.#check();
      if (chunker.full(record)) await flush();
      chunker.add(record);
      count++;
    }
    await flush();
    return count;
  }

  /**
   * The search rows of a batch's searchable records, as the six arrays of `batchWithSide`, with
   * their types; undefined when none is searchable (the batch runs as without an index).
   */
  #sideRows(rows: ReadonlyArray<{ readonly type: string; readonly id: string; readonly content: string }>): { arrays: unknown[][]; types: Set<string> } | undefined {
    let arrays: unknown[][] | undefined;
    const types = new Set<string>();
    for (const row of rows) {
      const side = this.#search.values(row.type, row.id, row.content);
      if (side === undefined) continue;
      arrays ??= [[], [], [], [], [], []];
      for (const [i, value] of [row.type, row.id, ...side].entries()) arrays[i]!.push(value);
      types.add(row.type);
    }
    return arrays && { arrays, types };
  }

  /** Forgets the batch's searchable types when fewer search rows were written than sent (a type's index was rebuilt by another backend). */
  #checkSide(side: { arrays: unknown[][]; types: Set<string> }, written: number): void {
    if (written < side.arrays[0]!.length) for (const type of side.types) this.#search.forget(type);
  }

  /** Runs `work` with a pooled connection, released after (destroyed when it failed at the connection level). */
  async #withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    try {
      const result = await work(client);
      client.release();
      return result;
    } catch (error) {
      // The connection may be left inside a transaction: not given back to the pool.
      client.release(error as Error);
      this.#check();
      throw pgFailure(error);
    }
  }

  #stored(write: RecordWrite, version: number, updatedAt: number): StoredRecord {
    return { type: write.type, id: write.id, kind: write.kind, content: write.content, version, updatedAt };
  }

  /** One prepared statement on any pooled connection. @returns its rows as arrays. */
  async #query(key: keyof AllStatements, values: unknown[]): Promise<Row[]> {
    this.#check();
    if (!this.#migrated) await this.#ensureReady();
    try {
      const result = await this.#pool.query({ name: this.#names[key], text: this.#sql[key], values, rowMode: 'array' });
      return result.rows as Row[];
    } catch (error) {
      this.#check();
      throw pgFailure(error);
    }
  }

  /** Runs one statement on a pooled connection; `name`: prepared under that name (see {@link #preparedName}). */
  async #run(text: string, values: readonly unknown[], name?: string): Promise<unknown[][]> {
    this.#check();
    if (!this.#migrated) await this.#ensureReady();
    try {
      return (await this.#pool.query(statement(text, values, name))).rows as unknown[][];
    } catch (error) {
      this.#check();
      throw pgFailure(error);
    }
  }

  /** Runs `work` in one transaction on one connection: committed if it returns, rolled back if it throws. */
  async #transaction(work: (query: Query, run: Run) => Promise<void>): Promise<void> {
    return this.#onOneConnection('BEGIN', (client) => {
      const query: Query = async (key, values) => (await client.query({ name: this.#names[key], text: this.#sql[key], values, rowMode: 'array' })).rows as Row[];
      // Batch statements vary with their row count: not prepared (their parse is small beside 1,000 rows).
      const run: Run = async (text, values) => (await client.query({ text, values, rowMode: 'array' })).rows as Row[];
      return work(query, run);
    });
  }

  /** Runs `work` on one pooled connection between `begin` and COMMIT; rolled back if it throws. */
  async #onOneConnection<T>(begin: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    let broken: Error | undefined;
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
      this.#check();
      throw pgFailure(error);
    } finally {
      client.release(broken ?? false);
    }
  }

  /** A pooled connection, once the table exists. */
  async #connect(): Promise<PoolClient> {
    this.#check();
    if (!this.#migrated) await this.#ensureReady();
    try {
      return await this.#pool.connect();
    } catch (error) {
      this.#check();
      throw pgFailure(error);
    }
  }

  /** Makes or migrates the table once; a failure (the server was down) is tried again by the next call. */
  #ensureReady(): Promise<void> {
    this.#ready ??= (async () => {
      const client = await this.#pool.connect();
      try {
        await migratePostgres(client, this.#where);
        // Which types are searchable, so their writes carry their tokens from the first one.
        await this.#search.load(client);
        client.release();
      } catch (error) {
        client.release(error as Error);
        throw error;
      }
      this.#migrated = true;
    })().catch((error: unknown) => {
      this.#ready = undefined;
      throw pgFailure(error);
    });
    return this.#ready;
  }

  #check(): void {
    if (this.#closed) throw new ClosedError(`PostgresBackend (${this.name})`);
  }
}

type Query = (key: keyof AllStatements, values: unknown[]) => Promise<Row[]>;

/** The backend's statements with the search variants of its one-object writes (see postgres-search.ts). */
function allStatements(names: TableNames) {
  const base = statements(names);
  const { write, create, update, put } = base;
  return { ...base, ...searchVariants(names, { write, create, update, put }, { write: 5, create: 5, update: 6, put: 6 }) };
}
type AllStatements = ReturnType<typeof allStatements>;

/** The batch statements with their searchable rows' search rows (see `batchWithSide`). */
function searchBatchStatements(names: TableNames) {
  const batch = batchStatements(names);
  return {
    writeRows: (count: number) => batchWithSide(names, batch.writeRows(count, 'type, id, version::float8 AS version, md5(content) AS hash'), count * 4 + 1, 'type, id, version'),
    putRows: (count: number) => batchWithSide(names, batch.putRows(count, 'type, id, md5(content) AS hash'), count * 6, '1'),
  };
}
type Run = (text: string, values: unknown[]) => Promise<Row[]>;

/** host:port/database, never the password, for the backend's name. */
function describeServer(connectionString: string | undefined, config: Record<string, unknown>): string {
  const source = connectionString ?? (typeof config.connectionString === 'string' ? config.connectionString : undefined);
  if (source !== undefined) {
    try {
      const url = new URL(source);
      return `${url.host || 'localhost'}${url.pathname || '/'}`;
    } catch {
      return 'localhost';
    }
  }
  const host = typeof config.host === 'string' ? config.host : 'localhost';
  const port = config.port === undefined ? '' : `:${String(config.port)}`;
  const database = typeof config.database === 'string' ? config.database : '';
  return `${host}${port}/${database}`;
}

/** The connection settings of a pool's configuration, without the pool's own. */
function clientConfig(config: Record<string, unknown>): Record<string, unknown> {
  const { max: _max, min: _min, idleTimeoutMillis: _idle, maxUses: _uses, allowExitOnIdle: _exit, maxLifetimeSeconds: _life, log: _log, Client: _client, Promise: _promise, ...rest } = config;
  return rest;
}
