/**
 * Namespaces: several applications in one backend (one SQLite file, one PostgreSQL table, one
 * folder, one memory backend), invisible to each other. A namespace is a prefix of the stored type
 * name: the object `Note "a"` of namespace `billing` is stored as type `billing:Note`, id `a`. Type
 * names match `[A-Za-z_][A-Za-z0-9_.-]*`, so a stored `billing:Note` never collides with a type of
 * the default namespace, which is stored without a prefix: data written before namespaces existed
 * is the default namespace's, where it always was, with no migration.
 *
 * {@link NamespacedBackend} is one view of an inner backend: it adds the prefix on the way in,
 * strips it on the way out, and shows only its namespace's types in listings, records and the
 * change feed. It knows nothing of any particular backend, so every backend has namespaces.
 * @module
 */
import type {
  BackendCapabilities,
  BackendChange,
  BackendTransaction,
  BackendTransactionOptions,
  ChangeListener,
  HeldRecord,
  RecordWrite,
  RecordsOptions,
  StoredRecord,
} from './backends/backend.js';
import { StorageBackend } from './backends/backend.js';
import { ConflictError, InvalidOptionError } from './errors.js';
import { checkNamespace } from './ids.js';

/** The default namespace: no prefix. */
export const DEFAULT_NAMESPACE = '';

/**
 * A backend that stores into `inner` under one namespace: type `T` is `inner`'s `${namespace}:T`.
 * With the {@link DEFAULT_NAMESPACE} (`''`), types are stored as they are and the view hides every
 * namespaced type. A `Store` with a `namespace` option makes one; `new Store({ backend })` uses the
 * default namespace's view, so it does not see other namespaces either.
 *
 * Not a security boundary: anyone with the inner backend (or the file, database or folder) reads
 * and writes every namespace.
 */
export class NamespacedBackend extends StorageBackend {
  /** The backend the records are stored in. */
  readonly inner: StorageBackend;
  /** This view's namespace; `''` for the default one. */
  readonly namespace: string;
  readonly name: string;
  /** `namespace:`, or `''` for the default namespace. */
  readonly #prefix: string;

  /** @throws InvalidOptionError when `namespace` is not a valid namespace or `inner` is a namespace view already. */
  constructor(inner: StorageBackend, namespace: string) {
    super();
    if (namespace !== DEFAULT_NAMESPACE) checkNamespace('NamespacedBackend', namespace);
    if (inner instanceof NamespacedBackend) {
      throw new InvalidOptionError(
        `NamespacedBackend: the backend ${inner.name} is a view of namespace ${JSON.stringify(inner.namespace)} already; ` +
          `namespaces do not nest: give the inner backend (backend.inner) instead`,
      );
    }
    this.inner = inner;
    this.namespace = namespace;
    this.#prefix = namespace === DEFAULT_NAMESPACE ? '' : `${namespace}:`;
    this.name = namespace === DEFAULT_NAMESPACE ? inner.name : `${inner.name} (namespace ${namespace})`;
    if (inner.changes) this.changes = (listener) => this.#subscribe(inner.changes!.bind(inner), listener);
    if (inner.pollChanges) this.pollChanges = () => inner.pollChanges!();
    if (inner.loadVersion) this.loadVersion = (type, id) => inner.loadVersion!(this.#in(type), id);
    if (inner.find) {
      this.find = async (type, query, options) => {
        const answer = await inner.find!(this.#in(type), query, options);
        return { ...answer, records: answer.records.map((record) => this.#outRecord(record)), unchecked: answer.unchecked.map((record) => this.#outRecord(record)) };
      };
    }
    if (inner.createIndex) this.createIndex = (type, path) => inner.createIndex!(this.#in(type), path);
    if (inner.createSearchIndex) this.createSearchIndex = (type, fields, typeVersion) => inner.createSearchIndex!(this.#in(type), fields, typeVersion);
    if (inner.search) {
      this.search = async (type, fields, terms, typeVersion) => {
        const answer = await inner.search!(this.#in(type), fields, terms, typeVersion);
        if (answer === undefined) return undefined;
        return { ...answer, unjudged: answer.unjudged.map((record) => this.#outRecord(record)) };
      };
    }
    if (inner.ownsPath) this.ownsPath = (path) => inner.ownsPath!(path);
    if (inner.transaction) {
      this.transaction = <T>(work: (tx: BackendTransaction) => Promise<T>, options: BackendTransactionOptions) =>
        inner.transaction!((tx) => work(this.#mapTransaction(tx)), options);
    }
  }

  /**
   * The inner backend's own capabilities, but `atomicImport`: a replacing import through a view
   * deletes this namespace's objects and keeps the others', a step the inner import cannot share.
   */
  override get capabilities(): BackendCapabilities {
    return { ...this.inner.capabilities, atomicImport: false };
  }

  override get readonly(): boolean {
    return this.inner.readonly;
  }

  /** Whether `storedType` (a type as the inner backend has it) belongs to this namespace. */
  holds(storedType: string): boolean {
    if (this.#prefix === '') return !storedType.includes(':');
    return storedType.startsWith(this.#prefix) && !storedType.includes(':', this.#prefix.length);
  }

  /** The type as stored in the inner backend. */
  #in(type: string): string {
    return this.#prefix + type;
  }

  /** The type of this namespace that `storedType` (which it {@link holds}) stands for. */
  #out(storedType: string): string {
    return storedType.slice(this.#prefix.length);
  }

  #inWrite(write: RecordWrite): RecordWrite {
    return { ...write, type: this.#in(write.type) };
  }

  #inRecord(record: StoredRecord): StoredRecord {
    return { ...record, type: this.#in(record.type) };
  }

  #outRecord<R extends StoredRecord | HeldRecord>(record: R): R;
  #outRecord(record: StoredRecord | undefined): StoredRecord | undefined;
  #outRecord(record: StoredRecord | HeldRecord | undefined): StoredRecord | HeldRecord | undefined {
    return record === undefined ? undefined : { ...record, type: this.#out(record.type) };
  }

  // The default namespace's types are stored as they are: its view hands the inner backend's
  // promises on untouched (no copy of each record, no extra await on the hot paths).
  readonly #outOne = (record: StoredRecord | undefined): StoredRecord | undefined => this.#outRecord(record);
  readonly #outEach = (records: Array<StoredRecord | undefined>): Array<StoredRecord | undefined> => records.map(this.#outOne);

  /** Rethrows `error`; a `ConflictError` of this namespace names the type as its callers know it. */
  readonly #plainConflict = (error: unknown): never => {
    if (error instanceof ConflictError && this.#prefix !== '' && this.holds(error.type)) {
      throw new ConflictError(this.#out(error.type), error.id, error.expectedVersion, error.actualVersion);
    }
    throw error;
  };

  /** Subscribes to the inner feed: this namespace's changes, prefix stripped, and every reset. */
  #subscribe(subscribe: (listener: ChangeListener) => () => void, listener: ChangeListener): () => void {
    return subscribe((changes) => {
      const mine: BackendChange[] = [];
      for (const change of changes) {
        if (change.reset === true) mine.push(change);
        else if (this.holds(change.type)) mine.push({ ...change, type: this.#out(change.type) });
      }
      if (mine.length > 0) listener(mine);
    });
  }

  #mapTransaction(tx: BackendTransaction): BackendTransaction {
    const mapped: BackendTransaction = {
      load: async (type, id) => this.#outRecord(await tx.load(this.#in(type), id)),
      loadMany: async (type, ids) => (await tx.loadMany(this.#in(type), ids)).map((record) => this.#outRecord(record)),
      exists: (type, id) => tx.exists(this.#in(type), id),
      write: (write) => tx.write(this.#inWrite(write)).then((record) => this.#outRecord(record), this.#plainConflict),
      delete: (type, id, expectedVersion) => tx.delete(this.#in(type), id, expectedVersion).catch(this.#plainConflict),
    };
    if (tx.list) mapped.list = (type) => tx.list!(this.#in(type));
    if (tx.find) {
      mapped.find = async (type, query, options) => {
        const answer = await tx.find!(this.#in(type), query, options);
        return { ...answer, records: answer.records.map((record) => this.#outRecord(record)), unchecked: answer.unchecked.map((record) => this.#outRecord(record)) };
      };
    }
    return mapped;
  }

  load(type: string, id: string): Promise<StoredRecord | undefined> {
    const loading = this.inner.load(this.#in(type), id);
    return this.#prefix === '' ? loading : loading.then(this.#outOne);
  }

  override loadMany(type: string, ids: readonly string[]): Promise<Array<StoredRecord | undefined>> {
    const loading = this.inner.loadMany(this.#in(type), ids);
    return this.#prefix === '' ? loading : loading.then(this.#outEach);
  }

  override exists(type: string, id: string): Promise<boolean> {
    return this.inner.exists(this.#in(type), id);
  }

  override count(type: string): Promise<number> {
    return this.inner.count(this.#in(type));
  }

  write(write: RecordWrite): Promise<StoredRecord> {
    if (this.#prefix === '') return this.inner.write(write);
    return this.inner.write(this.#inWrite(write)).then((record) => this.#outRecord(record), this.#plainConflict);
  }

  override async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    if (this.#prefix === '') return this.inner.writeMany(writes);
    const view = this;
    function* mapped(): Generator<RecordWrite> {
      // Taken one at a time, as the inner backend takes them (an atomic batch reads them inside).
      for (const write of writes) yield view.#inWrite(write);
    }
    return this.inner.writeMany(mapped()).then((records) => records.map((record) => this.#outRecord(record)), this.#plainConflict);
  }

  put(record: StoredRecord): Promise<void> {
    return this.inner.put(this.#prefix === '' ? record : this.#inRecord(record));
  }

  override putMany(records: Iterable<StoredRecord>): Promise<void> {
    if (this.#prefix === '') return this.inner.putMany(records);
    const view = this;
    function* mapped(): Generator<StoredRecord> {
      for (const record of records) yield view.#inRecord(record);
    }
    return this.inner.putMany(mapped());
  }

  delete(type: string, id: string, expectedVersion?: number): Promise<boolean> {
    if (expectedVersion === undefined) return this.inner.delete(this.#in(type), id);
    const deleting = this.inner.delete(this.#in(type), id, expectedVersion);
    return this.#prefix === '' ? deleting : deleting.catch(this.#plainConflict);
  }

  override deleteMany(type: string, ids: readonly string[]): Promise<boolean[]> {
    return this.inner.deleteMany(this.#in(type), ids);
  }

  list(type: string): Promise<string[]> {
    return this.inner.list(this.#in(type));
  }

  async listTypes(): Promise<string[]> {
    return (await this.inner.listTypes()).filter((type) => this.holds(type)).map((type) => this.#out(type));
  }

  /**
   * Removes this namespace's objects and no other. Where the inner backend has transactions, in one
   * transaction (all or nothing; objects created meanwhile may stay); elsewhere type by type. The
   * default namespace of a backend that holds nothing else is cleared with the inner `clear`.
   */
  async clear(): Promise<void> {
    const types = await this.inner.listTypes();
    if (this.#prefix === '' && types.every((type) => this.holds(type))) return this.inner.clear();
    const mine = types.filter((type) => this.holds(type));
    if (this.inner.transaction) {
      const listed = await Promise.all(mine.map(async (type) => ({ type, ids: await this.inner.list(type) })));
      await this.inner.transaction(
        async (tx) => {
          for (const { type, ids } of listed) for (const id of ids) await tx.delete(type, id);
        },
        { retries: 3 },
      );
      return;
    }
    for (const type of mine) await this.inner.deleteMany(type, await this.inner.list(type));
  }

  /** Closes the inner backend. */
  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Stores the records (their types are this namespace's) under this namespace. `replace` removes
   * this namespace's objects first ({@link clear}), and only those: not one step with the import.
   */
  override async importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    const view = this;
    async function* mapped(): AsyncGenerator<StoredRecord> {
      for await (const record of records) yield view.#inRecord(record);
    }
    if (options.replace) {
      const types = await this.inner.listTypes();
      // Nothing of another namespace to keep: the inner import replaces everything, atomically where it can.
      if (types.every((type) => this.holds(type))) return this.inner.importRecords(mapped(), { replace: true });
      await this.clear();
    }
    return this.inner.importRecords(mapped(), { replace: false });
  }

  /** This namespace's records from the inner backend's `records()` (one snapshot where it reads one), prefix stripped. */
  override async *records(options?: RecordsOptions): AsyncIterableIterator<StoredRecord> {
    for await (const record of this.inner.records(options)) {
      if (this.holds(record.type)) yield this.#outRecord(record);
    }
  }

  /**
   * The backend whose own `backup` (SQLite's copy of its file) stands for this view's: the inner one
   * for the default namespace, whose backup is then a copy of the whole backend, every namespace
   * included (the default namespace's store is taken to own the database); `undefined` for any
   * other namespace, whose backup is a dump of its own records.
   */
  get wholeBackend(): StorageBackend | undefined {
    return this.#prefix === '' ? this.inner : undefined;
  }

  // Queries and searches (`find`, `createIndex`, `createSearchIndex`, `search`) are forwarded in the
  // constructor, with the type mapped in and the records mapped out.
}

/** The namespace of the records `backend` holds: `''` unless it is a {@link NamespacedBackend}. */
export function namespaceOf(backend: StorageBackend): string {
  return backend instanceof NamespacedBackend ? backend.namespace : DEFAULT_NAMESPACE;
}

/** The backend that holds the records: `backend` itself, or the inner one of a namespace view. */
export function innerOf(backend: StorageBackend): StorageBackend {
  return backend instanceof NamespacedBackend ? backend.inner : backend;
}

/**
 * The view of `backend` in `namespace` (`undefined` or `''`: the default namespace). A view given as
 * `backend` is kept when it has that namespace, or when no namespace is asked for.
 * @throws InvalidOptionError when `backend` is a view of another namespace than the one asked for.
 */
export function namespaceView(backend: StorageBackend, namespace: string | undefined, where: string): NamespacedBackend {
  if (namespace !== undefined && namespace !== DEFAULT_NAMESPACE) checkNamespace(where, namespace);
  if (backend instanceof NamespacedBackend) {
    if (namespace === undefined || namespace === backend.namespace) return backend;
    throw new InvalidOptionError(
      `${where}: the backend ${backend.name} is a view of namespace ${JSON.stringify(backend.namespace)}; ` +
        `namespace ${JSON.stringify(namespace)} needs the inner backend (backend.inner)`,
    );
  }
  return new NamespacedBackend(backend, namespace ?? DEFAULT_NAMESPACE);
}

/**
 * A namespace and its types, from a backend's stored types (`billing:Note` -> `billing`, `Note`;
 * `Note` -> `''`, `Note`): what `cuttle stats` groups by.
 */
export function splitStoredType(storedType: string): { namespace: string; type: string } {
  const colon = storedType.indexOf(':');
  return colon === -1 ? { namespace: DEFAULT_NAMESPACE, type: storedType } : { namespace: storedType.slice(0, colon), type: storedType.slice(colon + 1) };
}
