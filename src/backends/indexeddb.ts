import { BackendError, ClosedError, ConflictError, CuttleError, InvalidOptionError, UnsupportedError } from '../errors.js';
import { sortIds } from '../ids.js';
import { checkInteger, checkOptions, describe } from '../options.js';
import { StorageBackend, type BackendCapabilities, type BackendChange, type ChangeListener, type RecordWrite, type StoredRecord } from './backend.js';
import { IndexedDbFeed } from './indexeddb-feed.js';
import { stagedImport, sweepStaging } from './indexeddb-import.js';
import { inTransaction, openDatabase, request } from './indexeddb-requests.js';
import { META, nextSeq, OBJECTS, SCHEMA_VERSION, SEQ, typeRange, upgrade } from './indexeddb-schema.js';

/** Options of {@link IndexedDbBackend}. */
export interface IndexedDbBackendOptions {
  /**
   * The IndexedDB database's name, created if missing. Every tab, worker and backend object of one
   * origin that opens the same name shares its objects and hears the others' changes.
   */
  name: string;
  /** The clock for `updatedAt`, in ms since the epoch. @default Date.now */
  now?: () => number;
  /**
   * How long, in milliseconds, the message of a change another tab committed may be missing (the
   * tab closed between its commit and its message) before it is given up and the listeners get a
   * reset instead: when {@link IndexedDbBackend.catchUp} waits for it, or when later changes have
   * arrived. @default 1000
   */
  messageTimeout?: number;
}

const OPTIONS = ['name', 'now', 'messageTimeout'] as const;
/** Ids per transaction when {@link IndexedDbBackend.records} reads a type. */
const RECORDS_CHUNK = 256;

/**
 * Keeps records in one IndexedDB database of the browser (`objects` store keyed `[type, id]`, see
 * indexeddb-schema.ts). Batches (`writeMany`, `putMany`, `deleteMany`, `loadMany`) are one
 * transaction each; imports are staged and then swapped in by one transaction (indexeddb-import.ts),
 * so both are all or nothing. Other tabs' changes arrive through a `BroadcastChannel`
 * (indexeddb-feed.ts): a cache is coherent eventually, as soon as their messages are delivered;
 * {@link catchUp} waits for that. See docs/backends/indexeddb.md.
 */
export class IndexedDbBackend extends StorageBackend {
  readonly name: string;
  /** The IndexedDB database's name. */
  readonly databaseName: string;
  readonly #now: () => number;
  readonly #messageTimeout: number;
  readonly #feed: IndexedDbFeed;
  /** The open database; replaced when the browser closed the connection (see {@link #open}). */
  #db: Promise<IDBDatabase>;
  #closed = false;
  /** Why the database is gone while this backend is open (another tab deleted or upgraded it). */
  #lost: string | undefined;

  constructor(options: IndexedDbBackendOptions) {
    super();
    checkOptions('IndexedDbBackend', options, OPTIONS);
    if (options === undefined || typeof options.name !== 'string' || options.name === '') {
      throw new InvalidOptionError(`IndexedDbBackend: name (the database's name) must be a non-empty string, got ${describe(options?.name)}`);
    }
    if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidOptionError(`IndexedDbBackend: now must be a function, got ${describe(options.now)}`);
    checkInteger('IndexedDbBackend', 'messageTimeout', options.messageTimeout, 0);
    if (typeof indexedDB === 'undefined' || typeof IDBKeyRange === 'undefined') {
      throw new UnsupportedError('IndexedDbBackend: this platform has no IndexedDB (globalThis.indexedDB); in Node, import "fake-indexeddb/auto" before making one');
    }
    this.databaseName = options.name;
    this.name = `indexeddb:${options.name}`;
    this.#now = options.now ?? Date.now;
    this.#messageTimeout = options.messageTimeout ?? 1000;
    this.#feed = new IndexedDbFeed(`cuttle:indexeddb:${options.name}`, this.#messageTimeout);
    this.#db = this.#open();
    // A failed open is reported by the first call that needs the database.
    this.#db.catch(() => {});
  }

  /** Batches and imports are all or nothing; the change feed needs a `BroadcastChannel`. */
  override get capabilities(): BackendCapabilities {
    return { ...super.capabilities, atomicBatch: true, atomicImport: true, changeFeed: this.#feed.enabled };
  }

  async load(type: string, id: string): Promise<StoredRecord | undefined> {
    const db = await this.#database();
    return this.#run('load', type, id, () => inTransaction(db, [OBJECTS], 'readonly', (tx) => request<StoredRecord | undefined>(tx.objectStore(OBJECTS).get([type, id]))));
  }

  /**
   * For a Store's `strictReads`: the stored version. IndexedDB cannot read one field of a value,
   * so this reads the record; what a strict read saves is decoding it.
   */
  override async loadVersion(type: string, id: string): Promise<number | undefined> {
    return (await this.load(type, id))?.version;
  }

  /** One transaction for every id. */
  override async loadMany(type: string, ids: readonly string[]): Promise<Array<StoredRecord | undefined>> {
    if (ids.length === 0) {
      await this.#database();
      return [];
    }
    const db = await this.#database();
    return this.#run('load', type, undefined, () =>
      inTransaction(db, [OBJECTS], 'readonly', (tx) => {
        const objects = tx.objectStore(OBJECTS);
        return Promise.all(ids.map((id) => request<StoredRecord | undefined>(objects.get([type, id]))));
      }),
    );
  }

  async write(write: RecordWrite): Promise<StoredRecord> {
    const [record] = await this.#writes('save', [write], write.type, write.id);
    return record!;
  }

  /** One transaction: a conflict or a throw of `writes` anywhere leaves none of the batch. */
  override async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    return this.#writes('save', writes);
  }

  async put(record: StoredRecord): Promise<void> {
    await this.putMany([record]);
  }

  /**
   * One transaction. Others hear each record's new version, except when a put creates an object
   * at a version other than 1: a store takes version 1 for a creation (and adds the id to the
   * lists it keeps), so then they hear a reset instead.
   */
  override async putMany(records: Iterable<StoredRecord>): Promise<void> {
    await this.#change('put', undefined, undefined, async (objects) => {
      const all = [...records];
      const previous = await Promise.all(all.map((record) => request(objects.count([record.type, record.id]))));
      const changes: BackendChange[] = [];
      let created = false;
      for (const [i, record] of all.entries()) {
        objects.put({ type: record.type, id: record.id, kind: record.kind, content: record.content, version: record.version, updatedAt: record.updatedAt } satisfies StoredRecord);
        changes.push({ type: record.type, id: record.id, version: record.version, deleted: false });
        if (previous[i] === 0 && record.version !== 1) created = true;
      }
      return { result: undefined, changes: created ? [{ reset: true }] : changes };
    });
  }

  /** One transaction; with `expectedVersion`, the check and the delete are in it. */
  async delete(type: string, id: string, expectedVersion?: number): Promise<boolean> {
    if (expectedVersion === undefined) {
      const [deleted] = await this.deleteMany(type, [id]);
      return deleted!;
    }
    return this.#change('delete', type, id, async (objects) => {
      const previous = await request<StoredRecord | undefined>(objects.get([type, id]));
      const actual = previous?.version ?? 0;
      if (actual !== expectedVersion) throw new ConflictError(type, id, expectedVersion, actual);
      if (previous === undefined) return { result: false, changes: [] };
      objects.delete([type, id]);
      return { result: true, changes: [{ type, id, version: previous.version, deleted: true }] };
    });
  }

  /** One transaction. */
  override async deleteMany(type: string, ids: readonly string[]): Promise<boolean[]> {
    return this.#change('delete', type, ids.length === 1 ? ids[0] : undefined, async (objects) => {
      const previous = await Promise.all(ids.map((id) => request<StoredRecord | undefined>(objects.get([type, id]))));
      const gone = new Set<string>();
      const changes: BackendChange[] = [];
      const deleted = ids.map((id, i) => {
        const record = previous[i];
        if (record === undefined || gone.has(id)) return false;
        gone.add(id);
        objects.delete([type, id]);
        changes.push({ type, id, version: record.version, deleted: true });
        return true;
      });
      return { result: deleted, changes };
    });
  }

  override async exists(type: string, id: string): Promise<boolean> {
    const db = await this.#database();
    return this.#run('read', type, id, () => inTransaction(db, [OBJECTS], 'readonly', async (tx) => (await request(tx.objectStore(OBJECTS).count([type, id]))) > 0));
  }

  override async count(type: string): Promise<number> {
    const db = await this.#database();
    return this.#run('count', type, undefined, () => inTransaction(db, [OBJECTS], 'readonly', (tx) => request(tx.objectStore(OBJECTS).count(typeRange(type)))));
  }

  /** IndexedDB orders keys by UTF-16 unit; ids with characters above U+FFFF are sorted again here. */
  async list(type: string): Promise<string[]> {
    const db = await this.#database();
    const keys = await this.#run('list', type, undefined, () =>
      inTransaction(db, [OBJECTS], 'readonly', (tx) => request(tx.objectStore(OBJECTS).getAllKeys(typeRange(type)))),
    );
    return sortIds(keys.map((key) => (key as [string, string])[1]));
  }

  /** One key cursor that jumps from each type to the next. */
  async listTypes(): Promise<string[]> {
    const db = await this.#database();
    return this.#run('list the types', undefined, undefined, () =>
      inTransaction(
        db,
        [OBJECTS],
        'readonly',
        (tx) =>
          new Promise<string[]>((resolve, reject) => {
            const types: string[] = [];
            const cursor = tx.objectStore(OBJECTS).openKeyCursor();
            cursor.onerror = () => reject(cursor.error);
            cursor.onsuccess = () => {
              const at = cursor.result;
              if (at === null) return resolve(types);
              const type = (at.key as [string, string])[0];
              types.push(type);
              at.continue([type, []]);
            };
          }),
      ),
    );
  }

  async clear(): Promise<void> {
    await this.#change('clear', undefined, undefined, (objects) => {
      objects.clear();
      return { result: undefined, changes: [{ reset: true }] };
    });
  }

  /** Staged, then swapped in by one transaction: all or nothing (see indexeddb-import.ts). */
  override async importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    const db = await this.#database();
    const { count, seq } = await this.#run('import', undefined, undefined, () => stagedImport(db, records, options.replace));
    this.#feed.committed(seq, [{ reset: true }]);
    return count;
  }

  /** By type, then id in {@link compareIds} order, a chunk of ids per transaction. */
  override async *records(): AsyncIterableIterator<StoredRecord> {
    for (const type of await this.listTypes()) {
      const ids = await this.list(type);
      for (let start = 0; start < ids.length; start += RECORDS_CHUNK) {
        for (const record of await this.loadMany(type, ids.slice(start, start + RECORDS_CHUNK))) if (record) yield record;
      }
    }
  }

  /** What other tabs, workers and backend objects on this database commit (see indexeddb-feed.ts). */
  override changes(listener: ChangeListener): () => void {
    return this.#feed.listeners.add(listener);
  }

  /**
   * Resolves once the change listeners have heard of every change that others committed to the
   * database before this call. A change whose message never comes (its tab closed between commit
   * and message) is given up after `options.messageTimeout` ms, and the listeners get a reset instead.
   */
  async catchUp(): Promise<void> {
    const db = await this.#database();
    const seq = await this.#run('read', undefined, undefined, () => inTransaction(db, [META], 'readonly', (tx) => request(tx.objectStore(META).get(SEQ))));
    await this.#feed.caughtUp(typeof seq === 'number' ? seq : 0, this.#messageTimeout);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#feed.close();
    try {
      (await this.#db).close();
    } catch {
      // It never opened: nothing to close.
    }
  }

  async #open(): Promise<IDBDatabase> {
    let db: IDBDatabase;
    try {
      db = await openDatabase(indexedDB, this.databaseName, SCHEMA_VERSION, upgrade);
    } catch (error) {
      throw this.#failure(error, 'open the database');
    }
    db.onversionchange = () => {
      // Another tab deletes the database or opens a newer version: let it, and stop here.
      db.close();
      this.#lost = 'another tab deleted or upgraded the database';
      this.#feed.reset();
    };
    db.onclose = () => {
      // The browser closed the connection (the user cleared the site's data, a storage failure):
      // whatever happened meanwhile is unknown, so a reset, and a new connection for what follows.
      this.#feed.reset();
      if (this.#closed || this.#lost !== undefined) return;
      this.#db = this.#open();
      this.#db.catch(() => {});
    };
    const seq = await inTransaction(db, [META], 'readonly', (tx) => request(tx.objectStore(META).get(SEQ)));
    this.#feed.start(typeof seq === 'number' ? seq : 0);
    await sweepStaging(db, Date.now());
    return db;
  }

  async #database(): Promise<IDBDatabase> {
    this.#check();
    const db = await this.#db;
    this.#check();
    if (this.#lost !== undefined) throw new BackendError(`${this.name}: the database is gone (${this.#lost}); open a new backend`, { store: this.name });
    return db;
  }

  /** Writes `writes` in one transaction, each checked against its `expectedVersion`. */
  async #writes(action: string, writes: Iterable<RecordWrite>, type?: string, id?: string): Promise<StoredRecord[]> {
    return this.#change(action, type, id, async (objects) => {
      // Read the whole batch first (synchronously, inside the transaction: a throw aborts it), so
      // that every stored version is asked for at once rather than one round trip per write.
      const all = [...writes];
      const previous = await Promise.all(all.map((write) => request<StoredRecord | undefined>(objects.get([write.type, write.id]))));
      /** The version of each object after this batch's writes so far (one object may be written twice). */
      const versions = new Map<string, number>();
      const stored = all.map((write, i) => {
        const key = JSON.stringify([write.type, write.id]);
        const actual = versions.get(key) ?? previous[i]?.version ?? 0;
        if (write.expectedVersion !== undefined && write.expectedVersion !== actual) {
          throw new ConflictError(write.type, write.id, write.expectedVersion, actual);
        }
        const record: StoredRecord = { type: write.type, id: write.id, kind: write.kind, content: write.content, version: actual + 1, updatedAt: this.#now() };
        versions.set(key, record.version);
        objects.put(record);
        return Object.freeze(record);
      });
      return { result: stored, changes: stored.map((r) => ({ type: r.type, id: r.id, version: r.version, deleted: false })) };
    });
  }

  /**
   * Runs `body` in one read-write transaction with the next sequence number, then tells the other
   * tabs what it changed.
   */
  async #change<T>(
    action: string,
    type: string | undefined,
    id: string | undefined,
    body: (objects: IDBObjectStore) => Promise<{ result: T; changes: BackendChange[] }> | { result: T; changes: BackendChange[] },
  ): Promise<T> {
    const db = await this.#database();
    const { result, changes, seq } = await this.#run(action, type, id, () =>
      inTransaction(db, [OBJECTS, META], 'readwrite', async (tx) => {
        const next = nextSeq(tx);
        // When the body fails, the transaction aborts and this read fails too: that is no news.
        next.catch(() => {});
        const done = await body(tx.objectStore(OBJECTS));
        return { ...done, seq: await next };
      }),
    );
    this.#feed.committed(seq, changes);
    return result;
  }

  /** Runs `fn`, turning IndexedDB's own failures (a `DOMException`) into a {@link BackendError}. */
  async #run<T>(action: string, type: string | undefined, id: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.#failure(error, action, type, id);
    }
  }

  #failure(error: unknown, action: string, type?: string, id?: string): unknown {
    if (error instanceof CuttleError || !isDomException(error)) return error;
    const { name, message } = error as { name: string; message: string };
    const what = type === undefined ? '' : id === undefined ? ` ${type}` : ` ${type} ${JSON.stringify(id)}`;
    return new BackendError(`${this.name}: cannot ${action}${what}: ${message} (${name})`, { store: this.name, systemCode: name, ...(type !== undefined && { type }), ...(id !== undefined && { id }) }, { cause: error });
  }

  #check(): void {
    if (this.#closed) throw new ClosedError(`IndexedDbBackend (${this.databaseName})`);
  }
}

function isDomException(error: unknown): boolean {
  return typeof DOMException === 'function' && error instanceof DOMException;
}
