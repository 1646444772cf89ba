import type { BackupOptions, BackupSummary } from '../backup-types.js';
import type { CorruptDataError } from '../errors.js';
import type { Query } from '../query/query.js';
import type { SearchTerm } from '../query/search.js';

/**
 * The backend contract. A backend stores and returns {@link StoredRecord}s and knows nothing of
 * classes, serialization or caching. A backend must implement the few primitives marked
 * `abstract`; the batch and listing helpers have defaults (plain loops) that a backend may
 * override with something faster or atomic.
 * @module
 */

/** Options of {@link StorageBackend.records}. */
export interface RecordsOptions {
  /** Called with each unreadable record's error, which is then skipped. Unset: the error is thrown. */
  onCorrupt?: (error: CorruptDataError) => void;
}

/** Whether a record holds a self-contained document or a container with references. */
export type RecordKind = 'object' | 'container';

/** One stored object, as every backend keeps it. */
export interface StoredRecord {
  /** The registered type name, `[A-Za-z_][A-Za-z0-9_.-]*`. */
  readonly type: string;
  /** The object's id: 1 to 256 characters, no control characters. */
  readonly id: string;
  readonly kind: RecordKind;
  /** The serialized document: JSON text (see docs/dump-format.md for its shape). */
  readonly content: string;
  /** 1 on first save, one more on each save. */
  readonly version: number;
  /** Time of the last save, in milliseconds since the epoch. */
  readonly updatedAt: number;
}

/** What a save hands to a backend; the backend assigns `version` and `updatedAt`. */
export interface RecordWrite {
  readonly type: string;
  readonly id: string;
  readonly kind: RecordKind;
  readonly content: string;
  /**
   * When set, the write happens only if the stored version equals this number (0: only if the
   * object is not stored yet); otherwise the backend throws `ConflictError`. The check and the write
   * are one atomic step.
   */
  readonly expectedVersion?: number | undefined;
}

/**
 * A change another writer made, as a backend's change feed reports it: the object's new version,
 * or `deleted` (then `version` is the last version it had, or 0 when unknown). `{ reset: true }`
 * says that changes may have been missed (a log pruned past this reader, a dropped connection):
 * whoever keeps copies must drop them all.
 */
export type BackendChange =
  | { readonly type: string; readonly id: string; readonly version: number; readonly deleted: boolean; readonly reset?: undefined }
  | { readonly reset: true };

/**
 * A backend's answer to {@link StorageBackend.find}. `records` match for certain and come in the
 * query's order (sort keys, then id), at most `skip + limit` of them from the first (the backend
 * skips only where it says so in `skipped`); `unchecked` are records the backend could not judge exactly (values its
 * compiler cannot compare the way the reference evaluator does), in any order: the store decodes
 * and checks them. Every matching record is in one of the two, except those after the last of
 * `records` when `records` was cut at `skip + limit`. With `count`, `records` is empty and
 * `count` says how many records match for certain.
 */
export interface FindAnswer {
  /** The matching records; those the caller holds may come as {@link HeldRecord}s (see {@link BackendFindOptions.held}). */
  readonly records: readonly (StoredRecord | HeldRecord)[];
  readonly count: number;
  readonly unchecked: readonly StoredRecord[];
  /**
   * How many first matching records the backend skipped itself (0, or the query's `skip`, which it
   * may do only when `unchecked` is empty). Unset: 0.
   */
  readonly skipped?: number;
}

/** Options of {@link StorageBackend.find}. */
export interface BackendFindOptions {
  /** Count the matching records instead of returning them (see {@link FindAnswer}). */
  readonly count?: boolean;
  /**
   * The type version of the querying class (`static version`, 1 when it sets none): records
   * written at another version are upgraded by the store before it judges them, so a backend that
   * judges stored documents leaves those to it. Unset: not known (a backend that needs it
   * returns every record unchecked). The memory backend reads it; SQLite and PostgreSQL do not.
   */
  readonly typeVersion?: number;
  /**
   * Whether the caller holds the record of this type and `id` at `version` already (the store: its
   * cache has the object at that version). A backend may then answer with a {@link HeldRecord} for
   * it, not reading or sending its content, but only in an answer whose `unchecked` is empty (the
   * caller needs no record's content to merge and sort those in). Called while the backend reads,
   * so a record held then may be gone from the caller's cache by the time it gets the answer; the
   * store then asks again without `held`. Unset: every record comes whole.
   */
  readonly held?: (id: string, version: number) => boolean;
}

/** A record {@link StorageBackend.find} found and returned without its content, since the caller holds it at `version` (see {@link BackendFindOptions.held}). */
export interface HeldRecord {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly held: true;
}

/** Whether `record` came without its content (see {@link HeldRecord}). */
export function isHeld(record: StoredRecord | HeldRecord): record is HeldRecord {
  return 'held' in record;
}

/**
 * What a backend's {@link StorageBackend.transaction} hands its callback: reads and writes that are
 * all part of one transaction, reads seeing the transaction's own writes. Valid only until the
 * callback's promise settles; a call after that throws `TransactionError`.
 */
export interface BackendTransaction {
  load(type: string, id: string): Promise<StoredRecord | undefined>;
  /** As {@link StorageBackend.loadMany}. */
  loadMany(type: string, ids: readonly string[]): Promise<Array<StoredRecord | undefined>>;
  exists(type: string, id: string): Promise<boolean>;
  /** As {@link StorageBackend.write}, `expectedVersion` included. */
  write(write: RecordWrite): Promise<StoredRecord>;
  /** As {@link StorageBackend.delete}, `expectedVersion` included. */
  delete(type: string, id: string, expectedVersion?: number): Promise<boolean>;
  /**
   * Optional: as {@link StorageBackend.list}, inside the transaction (its own saves and deletes
   * included). A transaction without {@link find} answers queries (`tx.find`) by listing the type
   * through it and reading the records with {@link loadMany}.
   */
  list?(type: string): Promise<string[]>;
  /**
   * Optional: as {@link StorageBackend.find}, inside the transaction, on its connection (its own
   * saves and deletes included, and the isolation the transaction has). A transaction with neither
   * `find` nor `list` has no queries: `tx.find` throws `UnsupportedError`.
   */
  find?(type: string, query: Query, options?: BackendFindOptions): Promise<FindAnswer>;
}

/** Options of {@link StorageBackend.transaction}. */
export interface BackendTransactionOptions {
  /**
   * How many times a backend that can fail a transaction for a conflict with concurrent ones
   * (PostgreSQL's serialization failures and deadlocks) runs the callback again before it throws
   * `TransactionError`. Backends that never fail that way (they take turns) ignore it.
   */
  readonly retries: number;
}

/** Receives a batch of changes, in the order they were committed. */
export type ChangeListener = (changes: readonly BackendChange[]) => void;

/**
 * What a backend promises beyond the required core. Each is `false` in {@link StorageBackend}'s
 * defaults, so a backend written before a capability existed keeps working: it simply does not
 * claim it. A backend overrides the getter with `{ ...super.capabilities, atomicBatch: true }`.
 */
export interface BackendCapabilities {
  /** `writeMany` and `putMany` are all or nothing: a failure anywhere leaves none of the batch. */
  readonly atomicBatch: boolean;
  /**
   * `importRecords` is all or nothing: when a record fails or the iterable throws part-way,
   * nothing of the import remains (including the clearing of `replace`). When false, callers
   * validate everything before calling it.
   */
  readonly atomicImport: boolean;
  /** The backend reports which objects other processes or backend objects changed. */
  readonly changeFeed: boolean;
  /**
   * The backend has {@link StorageBackend.transaction}: several reads and writes, all or nothing,
   * isolated from concurrent writers (serializable).
   */
  readonly transactions: boolean;
  /** The backend answers queries itself (else the store scans). */
  readonly query: boolean;
  /** The backend answers full-text searches itself (else the store scans). */
  readonly search: boolean;
}

const NO_CAPABILITIES: BackendCapabilities = Object.freeze({
  atomicBatch: false,
  atomicImport: false,
  changeFeed: false,
  transactions: false,
  query: false,
  search: false,
});

/**
 * A search answered from a backend's full-text index: the ids of the records holding every term
 * with their tokens, the statistics over the records the index judged (how many, their total
 * token count, and per term how many hold it), and the records it could not judge (`unjudged`,
 * e.g. documents with shared references), whole, for the store to tokenize and count in. The
 * store ranks from the tokens and loads only the records it returns.
 */
export interface SearchAnswer {
  /** The ids of the judged records of the type that hold every term, in any order (the store ranks them). */
  readonly ids: readonly string[];
  /**
   * The tokens of each of `ids`, in order, as the index holds them: the searched fields' joined
   * by single spaces, fields and array items apart by a token that is not a run of letters and
   * digits (see `measureText` in search.ts).
   */
  readonly texts: readonly string[];
  /** The token count of each of `ids` (separators aside). */
  readonly lengths: readonly number[];
  /** How many records of the type the index judged (matching or not; `unjudged` aside). */
  readonly documents: number;
  /** The token count of those records in all. */
  readonly length: number;
  /** Per term, in the order of the terms asked, how many of those records hold it. */
  readonly having: readonly number[];
  /**
   * The records of the type the index could not judge, whole: the store decodes them, tokenizes
   * their fields and counts them in (an empty list when the index judged every record).
   */
  readonly unjudged: readonly StoredRecord[];
}

/**
 * Abstract base class of every backend. All methods are async. Ids and type names reaching a
 * backend have already been validated by the codec.
 */
export abstract class StorageBackend {
  /** A short description for messages, e.g. `memory`, `file:/srv/data`, `sqlite:/srv/app.db`. */
  abstract readonly name: string;

  /** The record stored under (type, id), or `undefined`. */
  abstract load(type: string, id: string): Promise<StoredRecord | undefined>;

  /**
   * Stores a new version of (type, id): version 1 if it is new, else the stored version + 1.
   * Checks `expectedVersion` atomically with the write.
   * @returns the record as stored.
   */
  abstract write(write: RecordWrite): Promise<StoredRecord>;

  /** Stores a record exactly as given (version and updatedAt included), replacing any other. Used by imports. */
  abstract put(record: StoredRecord): Promise<void>;

  /**
   * Removes (type, id). With `expectedVersion`, only if the stored version is that one (0: only if
   * it is not stored, which then deletes nothing); otherwise throws `ConflictError`, checked
   * atomically with the delete. @returns whether it was stored.
   */
  abstract delete(type: string, id: string, expectedVersion?: number): Promise<boolean>;

  /** The ids stored under `type`, sorted by {@link compareIds}. */
  abstract list(type: string): Promise<string[]>;

  /** The type names that have at least one stored object, sorted. */
  abstract listTypes(): Promise<string[]>;

  /** Removes every object this backend stored. */
  abstract clear(): Promise<void>;

  /** Releases files and connections. Further calls throw `ClosedError`. */
  abstract close(): Promise<void>;

  /**
   * Optional, where `capabilities.changeFeed`: subscribes `listener` to the changes that anyone
   * other than this backend object (another process, another connection, another server) commits,
   * delivered in commit order, or a reset when some may have been missed. Changes made through this
   * backend object are not reported (the stores using it know their own). @returns the unsubscribe
   * function.
   */
  changes?(listener: ChangeListener): () => void;

  /**
   * Optional, with {@link changes}: reads what others committed since the last look, now and
   * synchronously, delivering it to the listeners before it returns. A store calls it at most once
   * per event-loop iteration before it answers from its cache, so a cached read sees every change
   * committed before that iteration began. A backend that can only learn of changes
   * asynchronously (PostgreSQL's notifications) leaves it out, and its coherence is eventual.
   */
  pollChanges?(): void;

  /**
   * Optional, where `capabilities.query`: answers a checked query over the records of `type` (see
   * {@link FindAnswer}); with `options.count`, counts instead. Without it the store scans the
   * records (list and loadMany) and evaluates the query itself.
   */
  find?(type: string, query: Query, options?: BackendFindOptions): Promise<FindAnswer>;

  /**
   * Optional: makes `find` fast on `path` (segments of a field path) for `type`, building the index
   * over what is stored; idempotent. A backend that scans leaves it out.
   */
  createIndex?(type: string, path: readonly string[]): Promise<void>;

  /**
   * Optional, where `capabilities.search`: makes (or keeps) a full-text index of `type` on `fields`
   * (what the class's `static searchable` says), for records written at type version
   * `typeVersion`, built over what is stored and kept in step with every write; idempotent.
   */
  createSearchIndex?(type: string, fields: readonly (readonly string[])[], typeVersion: number): Promise<void>;

  /**
   * Optional, where `capabilities.search`: what the store needs to rank a search of `type` (see
   * {@link SearchAnswer}), or undefined when no index covers exactly `fields` for records of type
   * version `typeVersion` (the store scans).
   */
  search?(type: string, fields: readonly (readonly string[])[], terms: readonly SearchTerm[], typeVersion: number): Promise<SearchAnswer | undefined>;

  /**
   * Optional, where `capabilities.transactions`: runs `work` in one transaction and commits it when
   * the promise `work` returns resolves, or rolls everything back when it rejects (and rejects with
   * the same error). Other calls on this backend object that would see or disturb the open
   * transaction wait for it to end. A backend whose transactions may fail for a conflict with
   * concurrent ones (PostgreSQL) runs `work` again, at most `options.retries` more times, then
   * throws `TransactionError`; `work` must be safe to run again. Changes are reported to other
   * backend objects' feeds at commit only. @returns what `work` resolved to.
   */
  transaction?<T>(work: (tx: BackendTransaction) => Promise<T>, options: BackendTransactionOptions): Promise<T>;

  /** What this backend promises beyond the required core; all `false` by default. */
  get capabilities(): BackendCapabilities {
    return NO_CAPABILITIES;
  }

  /**
   * Optional: the version stored under (type, id), or `undefined`, without reading the content:
   * what a Store's `strictReads` asks before it returns a cached object. A backend whose feed
   * pushes changes (PostgreSQL) has one; where others' changes are read before every cached load
   * anyway (SQLite, files) a Store does not need it.
   */
  loadVersion?(type: string, id: string): Promise<number | undefined>;

  /**
   * The records of `ids` (all of `type`), in the order of `ids`, `undefined` where one is not
   * stored. The default loads them all at once with {@link load}; a backend with round trips
   * (SQLite, PostgreSQL) answers in one statement per chunk. Container graphs load through it,
   * one level at a time.
   */
  async loadMany(type: string, ids: readonly string[]): Promise<Array<StoredRecord | undefined>> {
    return Promise.all(ids.map((id) => this.load(type, id)));
  }

  /**
   * Removes the objects of `ids` (all of `type`). @returns for each id, in order, whether it was
   * stored. The default deletes them one by one with {@link delete}; not atomic.
   */
  async deleteMany(type: string, ids: readonly string[]): Promise<boolean[]> {
    const deleted: boolean[] = [];
    for (const id of ids) deleted.push(await this.delete(type, id));
    return deleted;
  }

  /**
   * Optional: whether `path` (a file or folder, which need not exist) is part of this store, so that
   * an export or import refuses to write a dump over it or read one from it. The file backend owns
   * its root and everything under it; SQLite its database file and the `-wal`, `-shm` and `-journal`
   * beside it. Symbolic and hard links count. A backend that keeps nothing in files leaves it
   * undefined.
   */
  ownsPath?(path: string): boolean;

  /**
   * Optional: writes a consistent copy of the store to the file `destination` its own way while
   * others keep writing (SQLite: the online backup API, a database file). A backend without it is
   * backed up as a dump of {@link records}, which should then read one snapshot.
   */
  backup?(destination: string, options: BackupOptions): Promise<BackupSummary>;

  /**
   * Whether this backend refuses every change (saves, deletes, `clear`, imports) with
   * `ReadOnlyError`: opened with `readonly: true`, or on storage it may not write. Default: false.
   */
  get readonly(): boolean {
    return false;
  }

  /** Whether (type, id) is stored. */
  async exists(type: string, id: string): Promise<boolean> {
    return (await this.load(type, id)) !== undefined;
  }

  /** How many objects of `type` are stored. */
  async count(type: string): Promise<number> {
    return (await this.list(type)).length;
  }

  /**
   * Writes several records, in order; the default is a loop (not atomic). On a backend with
   * `capabilities.atomicBatch` the records are taken from `writes` one at a time inside the batch, and an exception
   * thrown by the iterable undoes the whole batch.
   */
  async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    const stored: StoredRecord[] = [];
    for (const write of writes) stored.push(await this.write(write));
    return stored;
  }

  /** Puts several records as given; the default is a loop (not atomic). */
  async putMany(records: Iterable<StoredRecord>): Promise<void> {
    for (const record of records) await this.put(record);
  }

  /**
   * Stores every record from `records` exactly as given (like {@link StorageBackend.put}), after
   * removing everything first when `replace` is set. The default clears and puts one by one.
   * @returns how many records were stored.
   */
  async importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    if (options.replace) await this.clear();
    let count = 0;
    for await (const record of records) {
      await this.put(record);
      count++;
    }
    return count;
  }

  /**
   * Every stored record, ordered by type and then id (the dump order). A backend that can tell
   * one unreadable record from the rest (the file backend: one damaged file) passes its
   * `CorruptDataError` to `options.onCorrupt` and goes on, when that is given; otherwise it throws.
   */
  async *records(_options?: RecordsOptions): AsyncIterableIterator<StoredRecord> {
    for (const type of await this.listTypes()) {
      for (const id of await this.list(type)) {
        const record = await this.load(type, id);
        if (record) yield record;
      }
    }
  }
}

