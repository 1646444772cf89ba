import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { ClosedError, ConflictError, CorruptDataError, InvalidOptionError, ReadOnlyError } from '../errors.js';
import { checkInteger, checkOneOf, checkOptions, describe } from '../options.js';
import { StorageBackend, type BackendCapabilities, type BackendChange, type BackendTransaction, type ChangeListener, type RecordKind, type RecordsOptions, type RecordWrite, type SearchAnswer, type StoredRecord } from './backend.js';
import { runSqliteTransaction, type SqliteTransactionSteps } from './sqlite-transaction.js';
import { ReaderError, ReaderPool, type PoolStatus, type ReaderRow } from './sqlite-reader.js';
import { isDatabaseFile } from './paths.js';
import { openDatabase, useWal } from './sqlite-open.js';
import { connectionSource, describeProblem, failureOf, isCorrupt, salvage, type SalvageProblem } from './sqlite-salvage.js';
import { ChangeListeners } from './change-listeners.js';
import { SqliteChangeLog } from './sqlite-changes.js';
import { checkSchema, migrate } from './sqlite-schema.js';
import { SqliteFinder } from './sqlite-find.js';
import { createSearchIndex, explainSearch, registerSearchFunctions, searchIndexed } from './sqlite-search.js';
import type { BackendFindOptions, FindAnswer } from './backend.js';
import type { Query } from '../query/query.js';
import type { SearchTerm } from '../query/search.js';
import { backupDatabase } from './sqlite-backup.js';
import type { BackupOptions, BackupSummary } from '../backup-types.js';

export type { PoolStatus } from './sqlite-reader.js';

/** Options of {@link SqliteBackend}. */
export interface SqliteBackendOptions {
  /**
   * The database file, created (with its folder) if missing, unless `readonly`, or `':memory:'`
   * for a private in-memory database that ends with the backend (for tests). Several processes
   * may open one file.
   */
  path: string;
  /**
   * `true`: open the file read-only; it must exist and be at the current schema version (a file
   * that would need an upgrade is a `ReadOnlyError`). Loads, lists and exports work and see other
   * processes' commits; saves, deletes, `clear` and imports throw `ReadOnlyError`. Without it, a
   * file that exists but cannot be written (a read-only filesystem, no write permission on it or
   * on its folder) is opened read-only too, and {@link SqliteBackend.readonly} says so. A WAL file
   * whose folder SQLite cannot write and that has no `-shm` file beside it is read from a copy in
   * memory taken at open (see docs/backends/sqlite.md). Not for `':memory:'`.
   * @default false
   */
  readonly?: boolean;
  /**
   * SQLite's `synchronous` setting. In WAL mode `'NORMAL'` never corrupts the file; a power cut may
   * lose the last commits. `'FULL'` syncs every commit. @default 'NORMAL'
   */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
  /**
   * How long a write waits, in milliseconds, for another connection or process to finish its own
   * write before failing with `SQLITE_BUSY`. 0 fails at once. @default 5000
   */
  busyTimeout?: number;
  /**
   * How many worker threads may stream {@link SqliteBackend.records} (exports) at once, each with
   * its own read-only connection; more exports wait for one. Threads start on first use. 0 streams
   * on the writer connection in the main thread instead, a chunk at a time, as `':memory:'` always
   * does (no other connection can see it). @default 2
   */
  readers?: number;
  /** How long an export waits for a free reader, in milliseconds; 0 waits forever. @default 30000 */
  acquireTimeoutMillis?: number;
  /** The clock for `updatedAt` and `created_at`, in ms since the epoch. @default Date.now */
  now?: () => number;
  /**
   * The change log (the `changes` table, which tells other connections which objects changed)
   * keeps at least this many of its newest rows; older ones are pruned. A connection that had not
   * read the pruned rows drops its whole cache once instead of single objects. @default 10000
   */
  changeLogRows?: number;
  /**
   * Whether this connection writes the change log: one row per changed object, in the change's
   * own transaction, so that other connections drop exactly those objects from their caches.
   * `false` saves that row (measured: docs/performance.md, "The change feed") for an application
   * whose file no other process opens while it writes: others then see each of its commits as a
   * reset (their caches emptied), never a stale object. @default true
   */
  changeLog?: boolean;
  /** The change log also prunes rows older than this many milliseconds; 0: by count alone. @default 0 */
  changeLogAge?: number;
}

/** What {@link SqliteBackend.settings} reports. */
export interface SqliteSettings {
  /** `'wal'` for a file; `'memory'` for `':memory:'` and for a read-only copy in memory (see {@link SqliteBackendOptions.readonly}). */
  readonly journalMode: string;
  readonly synchronous: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
  /** In milliseconds. */
  readonly busyTimeout: number;
  /** `PRAGMA user_version`: the schema version of the file. */
  readonly schemaVersion: number;
}

const OPTIONS = ['path', 'readonly', 'synchronous', 'busyTimeout', 'readers', 'acquireTimeoutMillis', 'now', 'changeLog', 'changeLogRows', 'changeLogAge'] as const;
const SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;
/** Rows per chunk of {@link SqliteBackend.records}; a chunk also ends past 1 MB of content. */
const CHUNK_ROWS = 500;
const CHUNK_BYTES = 1 << 20;

/** Ids per statement of loadMany and deleteMany. */
const MANY_CHUNK = 500;

const COLUMNS = 'type, id, kind, content, version, updated_at';
const SQL = {
  load: `SELECT kind, content, version, updated_at FROM objects WHERE type = ? AND id = ?`,
  exists: `SELECT 1 FROM objects WHERE type = ? AND id = ?`,
  version: `SELECT version FROM objects WHERE type = ? AND id = ?`,
  // The new version is computed by SQLite in the same statement, so no other writer comes between.
  write: `INSERT INTO objects (type, id, kind, content, version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)
    ON CONFLICT (type, id) DO UPDATE SET kind = excluded.kind, content = excluded.content,
      version = version + 1, updated_at = excluded.updated_at
    RETURNING version`,
  put: `INSERT INTO objects (type, id, kind, content, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (type, id) DO UPDATE SET kind = excluded.kind, content = excluded.content,
      version = excluded.version, updated_at = excluded.updated_at`,
  delete: `DELETE FROM objects WHERE type = ? AND id = ?`,
  // A JSON array of ids as one parameter: one prepared statement for any number of ids.
  loadMany: `SELECT id, kind, content, version, updated_at FROM objects WHERE type = ? AND id IN (SELECT value FROM json_each(?))`,
  deleteMany: `DELETE FROM objects WHERE type = ? AND id IN (SELECT value FROM json_each(?)) RETURNING id`,
  count: `SELECT count(*) FROM objects WHERE type = ?`,
  list: `SELECT id FROM objects WHERE type = ? ORDER BY id`,
  // A skip-scan: one index seek per type instead of reading every row's key.
  listTypes: `WITH RECURSIVE t(type) AS (
      SELECT min(type) FROM objects
      UNION ALL SELECT (SELECT min(type) FROM objects WHERE type > t.type) FROM t WHERE t.type IS NOT NULL
    ) SELECT type FROM t WHERE type IS NOT NULL`,
  clear: `DELETE FROM objects`,
  page: `SELECT ${COLUMNS} FROM objects WHERE (type, id) > (?, ?) ORDER BY type, id LIMIT ${CHUNK_ROWS}`,
  dataVersion: `PRAGMA data_version`,
};

type Statements = { [K in keyof typeof SQL]: Database.Statement };

/**
 * Keeps records in one SQLite table through better-sqlite3: `objects(type, id, kind, content,
 * version, created_at, updated_at)`, keyed on (type, id), in WAL mode so readers never wait for
 * writers. Saves and loads run synchronously on one writer connection (the fastest path);
 * `writeMany` and `putMany` are one transaction each, all or nothing; {@link records} streams from
 * a pool of reader threads. Several processes may use one file: writes wait their turn for up to
 * `busyTimeout`, and `expectedVersion` is checked inside the write.
 */
export class SqliteBackend extends StorageBackend {
  readonly name: string;
  /** The database file as given (resolved to an absolute path), or `':memory:'`. */
  readonly path: string;
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #readers: ReaderPool | undefined;
  readonly #now: () => number;
  readonly #busyTimeout: number;
  readonly #writeChecked: (write: RecordWrite, now: number) => number;
  readonly #writeMany: (writes: Iterable<RecordWrite>, now: number) => StoredRecord[];
  readonly #putMany: (records: Iterable<StoredRecord>) => void;
  readonly #deleteChecked: (type: string, id: string, expectedVersion: number) => boolean;
  #dataVersion: number;
  /** The change log, for a file (none for `':memory:'` or a copy in memory: nobody else can change those). */
  readonly #log: SqliteChangeLog | undefined;
  readonly #listeners = new ChangeListeners();
  /** Why this backend is read-only, or `undefined` when it may write. */
  readonly #readOnly: string | undefined;
  readonly #finder: SqliteFinder;
  /**
   * Set while {@link importRecords} or a {@link transaction} holds a transaction open on the writer
   * connection: every other call waits until it is unset (in a loop, as another may take it first).
   */
  #importing: Promise<void> | undefined;
  /** Backups under way on the writer connection, which close() lets finish. */
  readonly #backups = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: SqliteBackendOptions) {
    super();
    checkOptions('SqliteBackend', options, OPTIONS);
    if (options === undefined || typeof options.path !== 'string' || options.path === '') {
      throw new InvalidOptionError(`SqliteBackend: path must be a file name or ':memory:', got ${describe(options?.path)}`);
    }
    checkOneOf('SqliteBackend', 'readonly', options.readonly, [true, false]);
    if (options.readonly && options.path === ':memory:') {
      throw new InvalidOptionError(`SqliteBackend: readonly needs a database file; ':memory:' starts empty and ends with the backend`);
    }
    checkOneOf('SqliteBackend', 'synchronous', options.synchronous, SYNCHRONOUS);
    checkInteger('SqliteBackend', 'busyTimeout', options.busyTimeout, 0, 2 ** 31 - 1);
    checkInteger('SqliteBackend', 'readers', options.readers, 0, 64);
    checkInteger('SqliteBackend', 'acquireTimeoutMillis', options.acquireTimeoutMillis, 0, 2 ** 31 - 1);
    checkOneOf('SqliteBackend', 'changeLog', options.changeLog, [true, false]);
    checkInteger('SqliteBackend', 'changeLogRows', options.changeLogRows, 1);
    checkInteger('SqliteBackend', 'changeLogAge', options.changeLogAge, 0);
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new InvalidOptionError(`SqliteBackend: now must be a function, got ${describe(options.now)}`);
    }
    const memory = options.path === ':memory:';
    this.path = memory ? options.path : resolve(options.path);
    this.name = `sqlite:${this.path}`;
    this.#now = options.now ?? Date.now;
    const busyTimeout = options.busyTimeout ?? 5000;
    this.#busyTimeout = busyTimeout;

    const opened = openDatabase(this.path, { readonly: options.readonly === true, timeout: busyTimeout, store: this.name });
    this.#db = opened.db;
    this.#readOnly = opened.readOnly;
    // Before anything writes: the search indexes' triggers call these (sqlite-search.ts).
    registerSearchFunctions(this.#db);
    try {
      if (this.#readOnly !== undefined) {
        checkSchema(this.#db, this.path, this.name, this.#readOnly);
      } else {
        migrate(this.#db, this.path);
        useWal(this.#db, busyTimeout);
        // A big batch grows the WAL; cut it back to 64 MB once a checkpoint has copied it over.
        this.#db.pragma('journal_size_limit = 67108864');
      }
      this.#db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
      this.#sql = Object.fromEntries(Object.entries(SQL).map(([key, sql]) => [key, this.#db.prepare(sql)])) as Statements;
      this.#log =
        memory || opened.copy
          ? undefined
          : new SqliteChangeLog(this.#db, crypto.randomUUID().replaceAll('-', ''), this.#readOnly === undefined, {
              logged: options.changeLog !== false,
              keepRows: options.changeLogRows ?? 10_000,
              keepMs: options.changeLogAge ?? 0,
              now: this.#now,
            });
    } catch (error) {
      this.#db.close();
      throw this.#wrap(error);
    }
    this.#finder = new SqliteFinder(this.#db, (type, ids) => this.#loadMany(type, ids));
    const sql = this.#sql;
    sql.load.raw();
    sql.loadMany.raw();
    sql.deleteMany.pluck();
    sql.page.raw();
    for (const statement of [sql.version, sql.write, sql.count, sql.list, sql.listTypes, sql.dataVersion]) statement.pluck();
    this.#dataVersion = sql.dataVersion.get() as number;

    // IMMEDIATE: take the write lock before reading the stored version, so no process writes between.
    const writeChecked = this.#db.transaction((write: RecordWrite, now: number) => this.#writeOne(write, now));
    this.#writeChecked = (write, now) => writeChecked.immediate(write, now);
    const writeMany = this.#db.transaction((writes: Iterable<RecordWrite>, now: number) =>
      Array.from(writes, (write): StoredRecord => {
        const version = this.#writeOne(write, now);
        return { type: write.type, id: write.id, kind: write.kind, content: write.content, version, updatedAt: now };
      }),
    );
    this.#writeMany = (writes, now) => writeMany.immediate(writes, now);
    const putMany = this.#db.transaction((records: Iterable<StoredRecord>) => {
      for (const record of records) this.#putOne(record);
    });
    this.#putMany = (records) => putMany.immediate(records);
    const deleteChecked = this.#db.transaction((type: string, id: string, expectedVersion: number) => this.#deleteOne(type, id, expectedVersion));
    this.#deleteChecked = (type, id, expectedVersion) => deleteChecked.immediate(type, id, expectedVersion);

    const readers = options.readers ?? 2;
    // A copy in memory (see openDatabase) is this connection's alone: it pages on the main thread.
    if (!memory && !opened.copy && readers > 0) {
      this.#readers = new ReaderPool(
        { driver: createRequire(import.meta.url).resolve('better-sqlite3'), path: this.path, busyTimeout, chunkRows: CHUNK_ROWS, chunkBytes: CHUNK_BYTES },
        readers,
        options.acquireTimeoutMillis ?? 30_000,
      );
    }
  }

  /** The reader pool's state (all zero when records() streams on the main thread). */
  get pool(): PoolStatus {
    return this.#readers?.status ?? Object.freeze({ size: 0, available: 0, borrowed: 0, pending: 0, max: 0 });
  }

  /** The writer connection's settings as SQLite reports them, for diagnostics and tests. */
  settings(): SqliteSettings {
    this.#check();
    const pragma = (name: string) => this.#db.pragma(name, { simple: true });
    return Object.freeze({
      journalMode: pragma('journal_mode') as string,
      synchronous: SYNCHRONOUS[pragma('synchronous') as number]!,
      busyTimeout: pragma('busy_timeout') as number,
      schemaVersion: pragma('user_version') as number,
    });
  }

  /** Whether saves, deletes, `clear` and imports are refused (see {@link SqliteBackendOptions.readonly}). */
  override get readonly(): boolean {
    return this.#readOnly !== undefined;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  async load(type: string, id: string): Promise<StoredRecord | undefined> {
    this.#check();
    while (this.#importing) await this.#importing;
    try {
      return this.#loadOne(type, id);
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async write(write: RecordWrite): Promise<StoredRecord> {
    this.#checkWritable();
    while (this.#importing) await this.#importing;
    const now = this.#now();
    let version;
    try {
      // Without expectedVersion one statement is the whole write, in its own transaction.
      if (write.expectedVersion === undefined) version = this.#upsert(write, now);
      else version = this.#writeChecked(write, now);
      this.#log?.wrote();
    } catch (error) {
      throw this.#wrap(error);
    }
    return { type: write.type, id: write.id, kind: write.kind, content: write.content, version, updatedAt: now };
  }

  /**
   * One IMMEDIATE transaction: a conflict or any failure anywhere in the batch, including an
   * exception from the `writes` iterable, writes none of it.
   */
  override async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    this.#checkWritable();
    while (this.#importing) await this.#importing;
    const now = this.#now();
    try {
      const stored = this.#writeMany(writes, now);
      this.#log?.wrote(stored.length);
      return stored;
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  async put(record: StoredRecord): Promise<void> {
    this.#checkWritable();
    while (this.#importing) await this.#importing;
    this.#run(() => this.#putOne(record));
    this.#log?.wrote();
  }

  /** One IMMEDIATE transaction: all or nothing. */
  override async putMany(records: Iterable<StoredRecord>): Promise<void> {
    this.#checkWritable();
    while (this.#importing) await this.#importing;
    this.#run(() => this.#putMany(records));
  }

  /** With `expectedVersion`: the check and the delete in one IMMEDIATE transaction. */
  async delete(type: string, id: string, expectedVersion?: number): Promise<boolean> {
    this.#checkWritable();
    while (this.#importing) await this.#importing;
    const deleted = this.#run(() => (expectedVersion === undefined ? this.#sql.delete.run(type, id).changes > 0 : this.#deleteChecked(type, id, expectedVersion)));
    this.#log?.wrote();
    return deleted;
  }

  /** One statement per chunk of {@link MANY_CHUNK} ids. */
  override async loadMany(type: string, ids: readonly string[]): Promise<Array<StoredRecord | undefined>> {
    this.#check();
    while (this.#importing) await this.#importing;
    return this.#run(() => this.#loadMany(type, ids));
  }

  /** One statement per chunk of {@link MANY_CHUNK} ids, all in one transaction. */
  override async deleteMany(type: string, ids: readonly string[]): Promise<boolean[]> {
    this.#checkWritable();
    while (this.#importing) await this.#importing;
    const deleted = new Set<string>();
    this.#run(() =>
      this.#db.transaction(() => {
        for (let i = 0; i < ids.length; i += MANY_CHUNK) {
          for (const id of this.#sql.deleteMany.all(type, JSON.stringify(ids.slice(i, i + MANY_CHUNK))) as string[]) deleted.add(id);
        }
      }).immediate(),
    );
    this.#log?.wrote(ids.length);
    return ids.map((id) => deleted.has(id));
  }

  override async exists(type: string, id: string): Promise<boolean> {
    this.#check();
    while (this.#importing) await this.#importing;
    return this.#run(() => this.#sql.exists.get(type, id) !== undefined);
  }

  override async count(type: string): Promise<number> {
    this.#check();
    while (this.#importing) await this.#importing;
    return this.#run(() => this.#sql.count.get(type) as number);
  }

  /** Sorted by SQLite's BINARY collation, the UTF-8 byte order, which is {@link compareIds}' order. */
  async list(type: string): Promise<string[]> {
    this.#check();
    while (this.#importing) await this.#importing;
    return this.#run(() => this.#sql.list.all(type) as string[]);
  }

  async listTypes(): Promise<string[]> {
    this.#check();
    while (this.#importing) await this.#importing;
    return this.#run(() => this.#sql.listTypes.all() as string[]);
  }

  /** One transaction, which logs one reset for the other connections, not a change per object. */
  async clear(): Promise<void> {
    this.#checkWritable();
    while (this.#importing) await this.#importing;
    this.#run(() => this.#db.transaction(() => this.#bulk(() => this.#sql.clear.run())).immediate());
  }

  /**
   * Every record in (type, id) order. From a file, a reader thread streams one consistent snapshot
   * while saves go on; from `':memory:'` (or with `readers: 0`) pages of 500 rows are read on the
   * writer connection, which is free between pages, so records saved meanwhile may or may not show.
   * Holds at most two chunks in memory either way.
   *
   * A damaged page (`SQLITE_CORRUPT`) throws {@link CorruptDataError}; with `options.onCorrupt`,
   * it gets one for each object it cannot read (naming the file, and the type and id where the
   * index still can), and every row SQLite can still read comes, in order (see `sqlite-salvage.ts`).
   */
  override async *records(options?: RecordsOptions): AsyncIterableIterator<StoredRecord> {
    this.#check();
    while (this.#importing) await this.#importing;
    const onCorrupt = options?.onCorrupt;
    const report = onCorrupt && ((problem: SalvageProblem) => onCorrupt(this.#unreadable(problem)));
    const chunks = this.#readers ? this.#readers.scan(report) : this.#pages(report);
    try {
      for await (const rows of chunks) {
        for (const [type, id, kind, content, version, updatedAt] of rows) {
          yield { type, id, kind: kind as RecordKind, content, version, updatedAt };
        }
        this.#check();
      }
    } catch (error) {
      this.#check();
      if (error instanceof ReaderError && error.code === undefined) {
        throw new Error(`SqliteBackend (${this.path}): records(): ${error.message}`, { cause: error });
      }
      throw this.#wrap(error);
    }
  }

  /** The change feed: what other connections on the file (processes, backend objects) change (see sqlite-changes.ts). */
  override changes(listener: ChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  /**
   * Reads `PRAGMA data_version` on the writer connection, which SQLite moves only for other
   * connections' commits (a microsecond or so), and when it moved, the change log rows they wrote
   * since the last look, which go to the {@link changes} listeners. Nothing once closed.
   */
  override pollChanges(): void {
    if (this.#closed || this.#log === undefined) return;
    const version = this.#run(() => this.#sql.dataVersion.get() as number);
    if (version === this.#dataVersion) return;
    let changes: BackendChange[];
    try {
      // The rows and data_version from one snapshot: read apart, a commit landing between them
      // would be read now and then, its data_version seen next time with no row of its own, taken
      // for an unlogged commit (a reset).
      [changes, this.#dataVersion] = this.#run(() => this.#readChanges());
    } catch {
      // The log cannot be read (a damaged file): what changed is not known, so anything may have.
      this.#dataVersion = version;
      changes = [{ reset: true }];
    }
    this.#listeners.deliver(changes);
  }

  /** The change log's new rows and the data_version they bring the connection to, in one read transaction (made once). */
  #readChangesInOneSnapshot: (() => [BackendChange[], number]) | undefined;
  #readChanges(): [BackendChange[], number] {
    this.#readChangesInOneSnapshot ??= this.#db.transaction(() => [this.#log!.read(), this.#sql.dataVersion.get() as number] as [BackendChange[], number]);
    return this.#readChangesInOneSnapshot();
  }

  /** Runs a change of many rows (in the caller's transaction) logging one reset instead of a row each. */
  #bulk<T>(change: () => T): T {
    return this.#log ? this.#log.quietly(change) : change();
  }

  /** The database file and the `-wal`, `-shm` and `-journal` beside it (never for `':memory:'`). */
  override ownsPath(path: string): boolean {
    return this.path !== ':memory:' && isDatabaseFile(this.path, path);
  }

  /**
   * A consistent copy of the database in the file `destination` through SQLite's online backup
   * API (src/backends/sqlite-backup.ts), while this and other processes keep writing; it opens as a
   * store. `close()` waits for a backup under way.
   */
  override async backup(destination: string, options: BackupOptions = {}): Promise<BackupSummary> {
    this.#check();
    if (this.#importing) await this.#importing;
    const running = backupDatabase({ db: this.#db, store: this.name, owns: (path) => this.ownsPath(path) }, destination, options);
    this.#backups.add(running);
    try {
      return await running;
    } finally {
      this.#backups.delete(running);
    }
  }

  /** Batches and imports are one transaction each: all or nothing. */
  override get capabilities(): BackendCapabilities {
    return { ...super.capabilities, atomicBatch: true, atomicImport: true, transactions: this.#readOnly === undefined, changeFeed: this.#log !== undefined, query: true, search: true };
  }

  /** Compiled to SQL where the query reads plain JSON, the rest left to the store's evaluator (see sqlite-query.ts). */
  override async find(type: string, query: Query, options?: BackendFindOptions): Promise<FindAnswer> {
    this.#check();
    while (this.#importing) await this.#importing;
    return this.#run(() => this.#finder.find(type, query, options?.count === true, options?.typeVersion, options?.held));
  }

  /** Expression indexes on the path, partial to the type (see docs/query.md); built now. */
  override async createIndex(type: string, path: readonly string[]): Promise<void> {
    this.#check();
    while (this.#importing) await this.#importing;
    // Indexes are part of the schema: a read-only file uses those it has.
    if (this.#readOnly !== undefined) return;
    this.#run(() => this.#finder.createIndex(type, path));
  }

  /** An FTS5 index of the searchable fields, kept in step by triggers (see sqlite-search.ts); built now. */
  override async createSearchIndex(type: string, fields: readonly (readonly string[])[], typeVersion: number): Promise<void> {
    this.#check();
    while (this.#importing) await this.#importing;
    // Like query indexes, part of the schema: a read-only file uses those it has.
    if (this.#readOnly !== undefined) return;
    this.#run(() => createSearchIndex(this.#db, type, fields, typeVersion));
  }

  /** Answered from the FTS5 index of exactly `fields` and `typeVersion`, if there is one (see sqlite-search.ts). */
  override async search(type: string, fields: readonly (readonly string[])[], terms: readonly SearchTerm[], typeVersion: number): Promise<SearchAnswer | undefined> {
    this.#check();
    while (this.#importing) await this.#importing;
    return this.#run(() => searchIndexed(this.#db, type, fields, terms, typeVersion));
  }

  /** The steps of SQLite's plan for the FTS5 lookup of a search of `type` (EXPLAIN QUERY PLAN's details). */
  explainSearch(type: string, terms: readonly SearchTerm[]): string[] {
    this.#check();
    return explainSearch(this.#db, type, terms);
  }

  /**
   * The steps of SQLite's plans (`EXPLAIN QUERY PLAN`) for the statements that `find` runs now for
   * `query` (a checked query, see `toQuery`) over `type`, in order: the rows left to the evaluator
   * (where those are found apart) and the rows it matches in SQL, e.g. `SEARCH objects USING INDEX ...`;
   * undefined when the query is not compiled (the store then checks every row). `options.count`:
   * the plan of the count `count(Class, { where })` runs instead. `options.typeVersion`: the
   * querying class's `static version` (default 1).
   */
  explain(type: string, query: Query, options?: { count?: boolean; typeVersion?: number }): string[] | undefined {
    this.#check();
    return this.#finder.explain(type, query, options?.count === true, options?.typeVersion);
  }

  /**
   * One `BEGIN IMMEDIATE` transaction on the writer connection, held while `work` runs (see
   * sqlite-transaction.ts): other calls on this backend wait for it, other processes' writes wait
   * up to `busyTimeout`. Transactions take turns, so they never fail for a conflict (no retries).
   */
  override async transaction<T>(work: (tx: BackendTransaction) => Promise<T>): Promise<T> {
    this.#checkWritable();
    while (this.#importing) await this.#importing;
    let finished!: () => void;
    this.#importing = new Promise((resolve) => (finished = resolve));
    try {
      this.#check();
      const { result, writes } = await runSqliteTransaction(this.#db, this.name, this.#busyTimeout, this.#transactionSteps(), work);
      if (writes > 0) this.#run(() => this.#log?.wrote(writes));
      return result;
    } finally {
      this.#importing = undefined;
      finished();
    }
  }

  #transactionSteps(): SqliteTransactionSteps {
    const checked = <R>(run: () => R) => {
      this.#check();
      return run();
    };
    return {
      load: (type, id) => checked(() => this.#loadOne(type, id)),
      loadMany: (type, ids) => checked(() => this.#loadMany(type, ids)),
      exists: (type, id) => checked(() => this.#sql.exists.get(type, id) !== undefined),
      write: (write) =>
        checked(() => {
          const now = this.#now();
          return { type: write.type, id: write.id, kind: write.kind, content: write.content, version: this.#writeOne(write, now), updatedAt: now };
        }),
      delete: (type, id, expectedVersion) => checked(() => this.#deleteOne(type, id, expectedVersion)),
      find: (type, query, count, typeVersion) => checked(() => this.#finder.find(type, query, count, typeVersion)),
      wrap: (error) => this.#wrap(error),
    };
  }

  /**
   * One IMMEDIATE transaction held open while `records` is read, so a bad record anywhere (the
   * iterable throws) or any failure rolls back everything, including the clearing for `replace`.
   * Other calls on this backend wait until the import ends, since they would otherwise run
   * inside its transaction; other processes' writes wait up to `busyTimeout`.
   */
  override async importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    this.#checkWritable();
    while (this.#importing) await this.#importing;
    let finished!: () => void;
    this.#importing = new Promise((resolve) => (finished = resolve));
    try {
      this.#run(() => this.#db.exec('BEGIN IMMEDIATE'));
      try {
        // One reset in the change log for the whole import, not a row per record.
        this.#run(() => this.#log?.quiet());
        if (options.replace) this.#run(() => this.#sql.clear.run());
        let count = 0;
        for await (const record of records) {
          this.#check();
          this.#run(() => this.#putOne(record));
          count++;
        }
        this.#run(() => this.#log?.loud());
        this.#run(() => this.#db.exec('COMMIT'));
        return count;
      } catch (error) {
        if (this.#db.open && this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.#importing = undefined;
      finished();
    }
  }

  /** Closes the writer connection and stops the reader threads. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#backups);
    this.#db.close();
    await this.#readers?.close();
  }

  async *#pages(report?: (problem: SalvageProblem) => void): AsyncGenerator<ReaderRow[]> {
    let last: ReaderRow | undefined;
    for (;;) {
      // A transaction begun between two pages would show its uncommitted rows on this connection.
      while (this.#importing) await this.#importing;
      this.#check();
      let rows: ReaderRow[];
      try {
        rows = this.#sql.page.all(last?.[0] ?? '', last?.[1] ?? '') as ReaderRow[];
      } catch (error) {
        if (report === undefined || !isCorrupt((error as { code?: unknown }).code)) throw error;
        // Each salvage read after a turn of the event loop too, as between pages.
        const source = connectionSource(this.#db, async () => {
          await this.#turn();
          this.#check();
        });
        yield* salvage(source, last && [last[0], last[1]], failureOf(error), report);
        return;
      }
      if (rows.length > 0) yield rows;
      if (rows.length < CHUNK_ROWS) return;
      last = rows.at(-1);
      await this.#turn();
    }
  }

  /**
   * Lets timers and I/O run: a consumer of {@link records} that awaits nothing else would
   * otherwise hold the event loop for the whole export, since every page is read synchronously.
   */
  #turn(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** The error {@link records} hands `onCorrupt` for what a salvage could not read. */
  #unreadable(problem: SalvageProblem): CorruptDataError {
    const { type, id, error } = problem;
    const where = { file: this.path, ...(type !== undefined && { type }), ...(id !== undefined && { id }) };
    return new CorruptDataError(`${this.path} is damaged: ${describeProblem(problem)}`, where, { cause: new ReaderError(error.message, error.code) });
  }

  /** Checks `expectedVersion`, if any, then writes; run inside a transaction. @returns the new version. */
  #writeOne(write: RecordWrite, now: number): number {
    if (write.expectedVersion !== undefined) {
      const actual = (this.#sql.version.get(write.type, write.id) as number | undefined) ?? 0;
      if (actual !== write.expectedVersion) throw new ConflictError(write.type, write.id, write.expectedVersion, actual);
    }
    // Inside a transaction the commit comes later, so get() is safe here, and ~7% faster than all().
    return this.#sql.write.get(write.type, write.id, write.kind, write.content, now, now) as number;
  }

  /**
   * One write in its own transaction. It runs the statement to its end with all(): committed by
   * get() or run(), a RETURNING statement kept SQLite from ever restarting the WAL, and the -wal
   * file grew by every page written (1.2 GB after 100k saves here), slowing every read 3x.
   * @returns the new version.
   */
  #upsert(write: RecordWrite, now: number): number {
    return this.#sql.write.all(write.type, write.id, write.kind, write.content, now, now)[0] as number;
  }

  #loadOne(type: string, id: string): StoredRecord | undefined {
    const row = this.#sql.load.get(type, id) as [RecordKind, string, number, number] | undefined;
    return row && { type, id, kind: row[0], content: row[1], version: row[2], updatedAt: row[3] };
  }

  #loadMany(type: string, ids: readonly string[]): Array<StoredRecord | undefined> {
    const found = new Map<string, StoredRecord>();
    for (let i = 0; i < ids.length; i += MANY_CHUNK) {
      const rows = this.#sql.loadMany.all(type, JSON.stringify(ids.slice(i, i + MANY_CHUNK))) as Array<[string, RecordKind, string, number, number]>;
      for (const [id, kind, content, version, updatedAt] of rows) found.set(id, { type, id, kind, content, version, updatedAt });
    }
    return ids.map((id) => found.get(id));
  }

  /** Checks `expectedVersion`, if any, then deletes; inside a transaction when it is checked. */
  #deleteOne(type: string, id: string, expectedVersion: number | undefined): boolean {
    if (expectedVersion !== undefined) {
      const actual = (this.#sql.version.get(type, id) as number | undefined) ?? 0;
      if (actual !== expectedVersion) throw new ConflictError(type, id, expectedVersion, actual);
    }
    return this.#sql.delete.run(type, id).changes > 0;
  }

  #putOne(record: StoredRecord): void {
    this.#sql.put.run(record.type, record.id, record.kind, record.content, record.version, record.updatedAt, record.updatedAt);
  }

  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw this.#wrap(error);
    }
  }

  /** SQLite's "corrupt" and "not a database" become {@link CorruptDataError} naming the file. */
  #wrap(error: unknown): unknown {
    const code = (error as { code?: unknown })?.code;
    if (isCorrupt(code)) {
      return new CorruptDataError(`${this.path} is damaged or not a SQLite database: ${(error as Error).message}`, { file: this.path }, { cause: error });
    }
    return error;
  }

  #check(): void {
    if (this.#closed) throw new ClosedError(`SqliteBackend (${this.path})`);
  }

  #checkWritable(): void {
    this.#check();
    if (this.#readOnly !== undefined) throw new ReadOnlyError(this.name, this.#readOnly);
  }
}
