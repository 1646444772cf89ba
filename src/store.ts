/**
 * {@link Store}: one backend, the codec and the object cache. `Storage` is a static facade over a
 * default Store; tests and multi-tenant apps make their own with `new Store(...)`.
 * @module
 */
import type { BackendChange, RecordWrite, StorageBackend, StoredRecord } from './backends/backend.js';
import { InMemoryBackend } from './backends/memory.js';
import { DEFAULT_NAMESPACE, namespaceView, type NamespacedBackend } from './namespace.js';
import { ObjectCache, type CacheOptions, type CacheStats } from './cache.js';
import { Codec } from './codec.js';
import { checkId } from './ids.js';
import { exportBlob, importBlob } from './dump-blob.js';
import { exportData, importData, type Dump, type ExportOptions, type ExportSummary, type ImportOptions, type ImportSummary } from './dump-format.js';
import { BackendError, ClosedError, NotFoundError, TransactionError } from './errors.js';
import { classOf, Serializable, TypeRegistry, type SerializableClass, type TypeInfo } from './model.js';
import { loadGraph, objectKey, planSave, unreachable, verify, type GraphContext, type PlannedWrite, type VerifyReport } from './graph.js';
import type { Cascade, DanglingMode, GcOptions, LoadOptions, SaveOptions } from './operations.js';
import { checkInteger, checkOneOf, checkOptions, describe } from './options.js';
import { nextTurn } from './next-turn.js';
import { WriteOverlaps, type OpenWrite } from './overlaps.js';
import { theDumpFiles, type DumpReadable, type DumpWritable } from './platform.js';
import { Versions } from './versions.js';
import { backupBackend, type BackupOptions, type BackupSummary } from './backup.js';
import { upgradeType, type UpgradeOptions, type UpgradeSummary } from './upgrade.js';
import { Watchers, type StoreChange, type WatchOptions } from './watchers.js';
import { Finder } from './query/finder.js';
import { toQuery, toSegments, toWhere, type CountOptions, type FindOptions, type RefOf } from './query/query.js';
import { Ref } from './references.js';
import { toSearch, type SearchOptions } from './query/search.js';
import { changesOf, deleteTarget, runTransaction, type DeleteOptions, type Transaction, type TransactionEffect, type TransactionHost, type TransactionOptions } from './transaction.js';

export type { DeleteOptions, GcOptions, LoadOptions, SaveOptions } from './operations.js';
export type { StoreChange, WatchOptions } from './watchers.js';
export type { Transaction, TransactionOptions } from './transaction.js';

/** Options of {@link Store}. */
export interface StoreOptions {
  /** Where records are kept. @default new InMemoryBackend() */
  backend?: StorageBackend;
  /** The object cache's bounds, or `false` for no cache. @default { max: 10000 } */
  cache?: CacheOptions | false;
  /** The type registry; share one between stores to share class registrations. @default a new one */
  registry?: TypeRegistry;
  /**
   * While someone `watch`es, how often the store asks a backend that is polled (SQLite, file) for
   * others' changes, in ms, so that they are reported without a load. (A cached read asks anyway,
   * once per event-loop iteration; PostgreSQL's and IndexedDB's feeds push.) @default 100
   */
  watchInterval?: number;
  /**
   * Before a cached object is returned, ask the backend for its stored version (one small query)
   * and read it again when it differs: for callers who cannot accept that another server's change
   * reaches this cache a notification later. Only where the backend has `loadVersion`
   * (PostgreSQL, IndexedDB); SQLite and file stores check others' changes before every cached load anyway.
   * @default false
   */
  strictReads?: boolean;
  /**
   * The namespace this store keeps its objects in: stores of other namespaces on the same backend
   * (or file, database, folder) do not see them, nor it theirs (docs/guide.md, Namespaces).
   * @default the default namespace, `''` (what stores without this option, and cuttle before
   * namespaces, use)
   */
  namespace?: string;
}

/**
 * The stores open on each backend object (the inner one of their namespace views): one's writes
 * are another's outside changes when both have the same namespace.
 */
const storesOn = new WeakMap<StorageBackend, Set<Store>>();

/** Per-store control of the object cache; `Storage.cache` is the default store's. */
export interface CacheControl {
  /**
   * The cached instance of `Class` under `id`, returned synchronously, or `undefined` when the
   * cache does not hold it: it never reads the backend. For code that keeps a collection in the
   * cache (`cache: { max }` at least its size) and reads it on a hot path without a promise per
   * read:
   *
   *     const note = store.cache.peek(Note, id) ?? (await store.load(Note, id));
   *
   * Like lru-cache's `peek`, it neither counts in the stats nor refreshes the entry's place in
   * the LRU order: an object read only through `peek` is evicted as if unused. It runs the same
   * check for other processes' changes as `load` first, so it never returns an object that `load`
   * would not. Always `undefined` with `cache: false`.
   * @throws InvalidIdError when `id` is not a valid id (and so cannot be cached).
   */
  peek<T extends Serializable>(Class: SerializableClass<T>, id: string): T | undefined;
  /**
   * Whether the cache holds an object of `Class` under `id`, synchronously: `true` means it is
   * stored (the cache is kept true as for {@link peek}), `false` only that it is not cached; ask
   * `exists` then. Like {@link peek}, it neither counts nor refreshes, and never reads the backend.
   * Always `false` with `cache: false`.
   *
   *     const known = store.cache.has(Note, id) || (await store.exists(Note, id));
   * @throws InvalidIdError when `id` is not a valid id.
   */
  has(Class: SerializableClass, id: string): boolean;
  /** Counters and bounds: hits, misses, evictions, size, calculatedSize, max, maxSize, hitRate. */
  stats(): CacheStats;
  /** Drops the cached instance of (Class, id), so the next load reads the backend. */
  delete(Class: SerializableClass, id: string): boolean;
  /** Drops every cached instance. */
  clear(): void;
}

const SAVE_OPTIONS = ['cache', 'expectedVersion', 'cascade'] as const;
const LOAD_OPTIONS = ['cache', 'dangling'] as const;

/**
 * A store: saves and loads objects of registered classes through one backend, with an LRU cache
 * of live instances in front (an identity map: two loads of one id give the same object until it
 * is evicted or invalidated).
 */
export class Store {
  /**
   * The backend this store reads and writes: the one given, or, with a `namespace` option, the
   * {@link NamespacedBackend} view of it that this store uses.
   */
  readonly backend: StorageBackend;
  /** The namespace this store's objects are in; `''` for the default namespace. */
  readonly namespace: string;
  /** What every operation goes through: the view of the backend in {@link namespace}. */
  readonly #view: NamespacedBackend;
  /** The classes this store knows by type name. */
  readonly registry: TypeRegistry;
  /** The object cache's statistics and invalidation. */
  readonly cache: CacheControl;
  readonly #codec: Codec;
  readonly #cache: ObjectCache;
  readonly #graph: GraphContext;
  /** The stored version each live object was last saved or loaded at. */
  readonly #versions = new Versions(this);
  /** Loads under way, so concurrent loads of one id share one instance. */
  readonly #loading = new Map<string, Promise<Serializable | undefined>>();
  /** Counts the starts and ends of writes; a load that overlapped one does not cache what it read. */
  #writes = 0;
  /** Writes under way per object: a write that overlapped another of its object caches nothing. */
  readonly #overlaps = new WriteOverlaps();
  #closed = false;
  /** Whether the backend was asked about outside changes in this event-loop iteration. */
  #checkedThisTurn = false;

  readonly #watchers = new Watchers();
  readonly #watchInterval: number;
  readonly #strictReads: boolean;
  #watchTimer: ReturnType<typeof setInterval> | undefined;
  readonly #stopFeed: (() => void) | undefined;
  readonly #finder: Finder;
  /** What a query operand or a decoded value that is a stored object or a reference names. */
  readonly #refOf: RefOf = (value) =>
    value instanceof Ref ? value : value instanceof Serializable ? { type: this.#typeOf(value), id: value.id } : undefined;
  /** What each open transaction loaded or saved: the store refuses to save or delete those meanwhile. */
  readonly #openTransactions = new Set<ReadonlySet<Serializable>>();
  #transactionHost: TransactionHost | undefined;

  constructor(options: StoreOptions = {}) {
    checkOptions('Store', options, ['backend', 'cache', 'registry', 'watchInterval', 'strictReads', 'namespace']);
    checkOneOf('Store', 'strictReads', options.strictReads, [true, false]);
    checkInteger('Store', 'watchInterval', options.watchInterval, 1);
    this.#watchInterval = options.watchInterval ?? 100;
    const given = options.backend ?? new InMemoryBackend();
    this.#view = namespaceView(given, options.namespace, 'Store');
    this.namespace = this.#view.namespace;
    this.backend = this.namespace === DEFAULT_NAMESPACE ? given : this.#view;
    this.#strictReads = options.strictReads === true && this.#view.loadVersion !== undefined;
    this.registry = options.registry ?? new TypeRegistry();
    this.#codec = new Codec(this.registry);
    this.#cache = new ObjectCache(options.cache);
    this.#graph = {
      backend: this.#view,
      codec: this.#codec,
      registry: this.registry,
      cached: (type, id) => this.#cache.peek(type, id) as Serializable | undefined,
      isStored: (obj) => this.#versions.has(obj),
    };
    const cache = this.#cache;
    const registry = this.registry;
    this.cache = Object.freeze({
      peek: <T extends Serializable>(Class: SerializableClass<T>, id: string) => this.#peek(Class, id) as T | undefined,
      has: (Class: SerializableClass, id: string) => this.#has(Class, id),
      stats: () => cache.stats(),
      delete: (Class: SerializableClass, id: string) => cache.delete(registry.register(Class).name, id),
      clear: () => cache.clear(),
    });
    this.#finder = new Finder({
      backend: this.backend,
      refOf: this.#refOf,
      decode: (info, record) => this.#codec.decodeData(record.content, info, record.id),
      mark: () => this.#writes,
      adopt: (info, record, data, mark) => this.#adopt(info, record, data, mark),
      held: (info, id, version) => this.#heldAt(info, id, version),
      holds: (info) => this.#cache.holdsAny(info.name),
    });
    this.#stopFeed = this.#view.changes?.((changes) => this.#outside(changes));
    let siblings = storesOn.get(this.#view.inner);
    if (siblings === undefined) storesOn.set(this.#view.inner, (siblings = new Set()));
    siblings.add(this);
  }

  /**
   * Calls `listener` with every change of a stored object from now on: this store's own saves and
   * deletes (`local: true`) and others' (`local: false`: other processes, connections, servers,
   * tabs, or other stores on this backend object), in the order each was committed; `{ reset:
   * true }` when many may have changed (`clear`, an import, or others' changes that may have been
   * missed). Others' changes arrive without a load: on SQLite and files within `watchInterval` ms,
   * on PostgreSQL as its notifications come (docs/cache.md). A listener that throws breaks
   * nothing (see `options.onError`).
   * @returns the function that stops it.
   */
  watch(listener: (change: StoreChange) => void, options: WatchOptions = {}): () => void {
    this.#check();
    if (typeof listener !== 'function') throw new TypeError(`watch expects a listener function, got ${describe(listener)}`);
    checkOptions('watch', options, ['types', 'onError']);
    if (options.types !== undefined && !Array.isArray(options.types)) throw new TypeError(`watch: types must be an array of classes, got ${describe(options.types)}`);
    const types = options.types && new Set(options.types.map((Class) => this.registry.register(Class).name));
    const stop = this.#watchers.add(listener, types, options.onError);
    this.#startPolling();
    return () => {
      stop();
      if (this.#watchers.size === 0) this.#stopPolling();
    };
  }
  /**
   * Runs `work` in one transaction of the backend: its loads, saves and deletes through `tx` are
   * all or nothing and isolated from concurrent writers (docs/transactions.md). When the promise
   * `work` returns resolves, the transaction commits and this resolves to the same value; the
   * store's versions, cache, id lists and watchers take in its changes then. When it rejects,
   * nothing is stored, the cache stays as it was (but for cached objects `work` saved, which are
   * dropped: it may have changed them) and this rejects with the same error. On PostgreSQL
   * `work` may run again after a serialization failure (`options.retries`).
   *
   *     await store.transaction(async (tx) => {
   *       const a = await tx.load(Account, 'a'); const b = await tx.load(Account, 'b');
   *       a.balance -= 10; b.balance += 10; await tx.saveMany([a, b]);
   *     });
   *
   * Inside `work`, use `tx` only: `store.save`, `Storage.save` or `obj.save()` write outside the
   * transaction (and on SQLite and memory wait for it to end, so awaiting one inside `work` never
   * returns); on an object `tx` loaded or saved they throw `TransactionError` at once.
   * @throws UnsupportedError when the backend has no transactions (`capabilities.transactions`).
   * @throws TransactionError when the backend gave up after `options.retries` retries.
   */
  async transaction<T>(work: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    this.#check();
    return runTransaction((this.#transactionHost ??= this.#hostTransactions()), work, options);
  }

  /** Registers classes so that references to them resolve before they are first saved or loaded. */
  register(...classes: SerializableClass[]): void {
    for (const Class of classes) this.registry.register(Class);
  }

  /**
   * Saves `obj` (version 1 the first time, then one more each save) and caches it.
   * @returns `obj`
   * @throws ConflictError when `expectedVersion` is not the stored version.
   */
  async save<T extends Serializable>(obj: T, options?: SaveOptions): Promise<T> {
    this.#check();
    if (options !== undefined) checkSaveOptions(options);
    if (this.#openTransactions.size > 0) this.#checkOutside(obj, 'save');
    const info = this.#infoOf(obj);
    const planned: PlannedWrite[] =
      info.kind === 'container'
        ? planSave(this.#graph, obj, info, options?.cascade ?? 'new', options?.expectedVersion)
        : [this.#plan(obj, info, options?.expectedVersion)];
    await this.#writeAll(
      planned.map((p) => p.obj),
      planned.map((p) => p.write),
      options?.cache !== false,
    );
    return obj;
  }

  /**
   * Saves several objects (and the new objects containers among them reach) as one batch: one
   * transaction on SQLite and in memory (all or nothing), one by one on files. Nothing is written
   * if any object is invalid or cannot be encoded.
   */
  async saveMany<T extends Serializable>(objs: readonly T[]): Promise<T[]> {
    this.#check();
    if (!Array.isArray(objs)) throw new TypeError(`saveMany expects an array of objects, got ${describe(objs)}`);
    // Each object once; containers are encoded now (that is how they find what they reach),
    // documents only when their write is taken.
    const items: Array<PlannedWrite | { obj: Serializable; info: TypeInfo }> = [];
    const seen = new Set<Serializable>();
    for (const obj of objs) {
      if (this.#openTransactions.size > 0) this.#checkOutside(obj, 'save');
      const info = this.#infoOf(obj);
      const reached = info.kind === 'container' ? planSave(this.#graph, obj, info, 'new') : [{ obj, info }];
      for (const item of reached) {
        if (seen.has(item.obj)) continue;
        seen.add(item.obj);
        if ('info' in item) checkId(item.obj.id, item.info.name);
        items.push(item);
      }
    }
    const codec = this.#codec;
    function* writes(): Generator<RecordWrite> {
      for (const item of items) {
        if ('write' in item) yield item.write;
        else yield { type: item.info.name, id: item.obj.id, kind: item.info.kind, content: codec.encode(item.obj, item.info) };
      }
    }
    // An atomic backend takes the writes one at a time inside its transaction, so a large batch
    // never holds every encoded document at once, and an encoding failure still writes nothing.
    // Elsewhere everything is encoded before the first write.
    await this.#writeAll(
      items.map((item) => item.obj),
      this.#view.capabilities.atomicBatch ? writes() : [...writes()],
      true,
    );
    return [...objs];
  }

  /**
   * The object of `Class` stored under `id`: the cached instance if there is one.
   * @throws NotFoundError when nothing is stored under `id`.
   */
  async load<T extends Serializable>(Class: SerializableClass<T>, id: string, options?: LoadOptions): Promise<T> {
    const found = this.#find(Class, id, options);
    // A cached object is returned without an await: an await costs a turn of the microtask queue.
    const obj = (found instanceof Promise ? await found : found) as T | undefined;
    if (obj === undefined) throw new NotFoundError(this.registry.register(Class).name, id);
    return obj;
  }

  /** Like {@link Store.load}, but resolves to `undefined` when nothing is stored under `id`. */
  async get<T extends Serializable>(Class: SerializableClass<T>, id: string, options?: LoadOptions): Promise<T | undefined> {
    const found = this.#find(Class, id, options);
    return (found instanceof Promise ? await found : found) as T | undefined;
  }

  /** What load and get share: the cached instance itself, or a promise of the object read. */
  #find(Class: SerializableClass, id: string, options: LoadOptions | undefined): Serializable | undefined | Promise<Serializable | undefined> {
    this.#check();
    if (options !== undefined) checkLoadOptions(options);
    const info = this.registry.register(Class);
    if (info.kind !== 'container' && options?.cache !== false && this.#cache.enabled) {
      // A hit needs no id check: only valid ids are cached, and the hit must carry this very id.
      const cached = this.#cached(info.name, id, 'get');
      if (cached !== undefined) return this.#strictReads ? this.#checked(Class, info.name, id, cached, options) : cached;
    }
    checkId(id, info.name);
    if (info.kind === 'container') return this.#loadContainer(info, id, options);
    if (options?.cache === false || !this.#cache.enabled) return this.#read(info, id);
    // Concurrent loads of one uncached id share one read.
    const key = objectKey(info.name, id);
    let loading = this.#loading.get(key);
    if (!loading) {
      loading = this.#readAndCache(info, id, key);
      this.#loading.set(key, loading);
    }
    return loading;
  }

  /** `strictReads`: the cached object if its version is still the stored one; else it is dropped and read again. */
  async #checked(Class: SerializableClass, type: string, id: string, cached: Serializable, options: LoadOptions | undefined): Promise<Serializable | undefined> {
    const stored = await this.#guard('load', type, id, this.#view.loadVersion!(type, id));
    if (stored !== undefined && stored === this.#versions.get(cached)) return cached;
    if (this.#cache.peek(type, id) === cached) this.#cache.delete(type, id);
    return this.#find(Class, id, options);
  }

  /** {@link CacheControl.peek}. */
  #peek(Class: SerializableClass, id: string): Serializable | undefined {
    this.#check();
    const info = this.registry.register(Class);
    if (this.#cache.enabled) {
      const cached = this.#cached(info.name, id, 'peek');
      if (cached !== undefined) return cached;
    }
    checkId(id, info.name);
    return undefined;
  }

  /** {@link CacheControl.has}. */
  #has(Class: SerializableClass, id: string): boolean {
    this.#check();
    const info = this.registry.register(Class);
    if (this.#cache.enabled && this.#cachedEntry(info.name, id)) return true;
    checkId(id, info.name);
    return false;
  }

  /**
   * Deletes an object, given itself or its class and id. @returns whether it was stored.
   * @throws ConflictError when `options.expectedVersion` is not the stored version.
   */
  async delete(obj: Serializable, options?: DeleteOptions): Promise<boolean>;
  async delete(Class: SerializableClass, id: string, options?: DeleteOptions): Promise<boolean>;
  async delete(target: Serializable | SerializableClass, idOrOptions?: string | DeleteOptions, maybeOptions?: DeleteOptions): Promise<boolean> {
    this.#check();
    const { type, id, options, obj } = deleteTarget(this.registry, target, idOrOptions, maybeOptions);
    if (obj !== undefined && this.#openTransactions.size > 0) this.#checkOutside(obj, 'delete');
    const expectedVersion = options.expectedVersion;
    const open = this.#beginWrite(type, id);
    return this.#writing(async () => {
      let deleted = false;
      try {
        this.#cache.delete(type, id);
        deleted = expectedVersion === undefined ? await this.#view.delete(type, id) : await this.#view.delete(type, id, expectedVersion);
        return deleted;
      } catch (error) {
        throw BackendError.wrap(error, this.#view.name, 'delete', type, id);
      } finally {
        if (this.#overlaps.end(type, id, open)) {
          if (deleted) this.#cache.ids.remove(type, id);
        } else {
          this.#forget(type, id);
        }
        if (deleted) this.#told([{ type, id, version: 0, deleted: true }]);
      }
    });
  }

  /**
   * Whether an object of `Class` is stored under `id`. An id the cache holds is stored: the cache
   * is kept true by this store's saves and deletes and by the check for other processes' changes,
   * as it is for loads. Any other id is asked of the backend.
   */
  async exists(Class: SerializableClass, id: string): Promise<boolean> {
    this.#check();
    const info = this.registry.register(Class);
    checkId(id, info.name);
    if (this.#cache.enabled && this.#cachedEntry(info.name, id)) return true;
    return this.#guard('check', info.name, id, this.#view.exists(info.name, id));
  }

  /** How many objects of `Class` are stored; with `where`, how many match it (see {@link Store.find}). */
  async count(Class: SerializableClass, options?: CountOptions): Promise<number> {
    this.#check();
    const info = this.registry.register(Class);
    if (options === undefined) return this.#guard('count', info.name, undefined, this.#view.count(info.name));
    checkOptions('count', options, ['where']);
    const where = toWhere(options.where, this.#refOf);
    return this.#guard('count', info.name, undefined, this.#finder.count(info, where));
  }

  /**
   * The objects of `Class` matching `options.where`, ordered by `options.sort` (then by id),
   * after `skip`, at most `limit` (docs/query.md). Served through the cache: an object cached and
   * unchanged is that very instance.
   * @throws InvalidQueryError for a malformed query, before anything is read.
   */
  async find<T extends Serializable>(Class: SerializableClass<T>, options?: FindOptions): Promise<T[]> {
    this.#check();
    const info = this.registry.register(Class);
    const query = toQuery(options, this.#refOf);
    this.#pollChanges();
    return this.#guard('query', info.name, undefined, this.#finder.find(info, query)) as Promise<T[]>;
  }

  /** The first object {@link Store.find} would return (`limit` is 1), or `undefined`. */
  async findOne<T extends Serializable>(Class: SerializableClass<T>, options?: Omit<FindOptions, 'limit'>): Promise<T | undefined> {
    this.#check();
    const info = this.registry.register(Class);
    const query = { ...toQuery(options, this.#refOf, 'findOne'), limit: 1 };
    this.#pollChanges();
    const [first] = await this.#guard('query', info.name, undefined, this.#finder.find(info, query));
    return first as T | undefined;
  }

  /**
   * {@link Store.find} as an async iterator that reads a page at a time, for results too large to
   * hold: `for await (const note of store.findEach(Note, { where }))`.
   */
  findEach<T extends Serializable>(Class: SerializableClass<T>, options?: FindOptions): AsyncIterableIterator<T> {
    this.#check();
    const info = this.registry.register(Class);
    const query = toQuery(options, this.#refOf, 'findEach');
    this.#pollChanges();
    return this.#finder.findEach(info, query) as AsyncIterableIterator<T>;
  }

  /**
   * The objects of `Class` whose fields (`options.fields`, else `static searchable`) hold every
   * term of `text` (words, `prefix*`, `"a phrase"`), best first (BM25), at most `options.limit`.
   * SQLite (FTS5) and PostgreSQL (GIN) serve a search of the `static searchable` fields from an
   * index; other backends and other fields scan the type's objects, with the same answer
   * (docs/query.md, "Full-text search").
   * @throws InvalidQueryError for a text without words or no fields to search.
   */
  async search<T extends Serializable>(Class: SerializableClass<T>, text: string, options?: SearchOptions): Promise<T[]> {
    this.#check();
    const info = this.registry.register(Class);
    const search = toSearch(text, options, (Class as { searchable?: unknown }).searchable, info.name);
    this.#pollChanges();
    return this.#guard('search', info.name, undefined, this.#finder.search(info, search)) as Promise<T[]>;
  }

  /**
   * Makes queries on `path` of `Class` fast where the backend keeps indexes (SQLite, PostgreSQL: expression indexes,
   * built now over what is stored); memory and files scan, so it only checks the path there.
   * Classes may declare theirs: `static indexes = ['priority', 'author.name']`.
   */
  async index(Class: SerializableClass, path: string): Promise<void> {
    this.#check();
    const info = this.registry.register(Class);
    const segments = toSegments(path);
    await this.#guard('index', info.name, undefined, this.#finder.index(info, segments));
  }

  /**
   * The ids of the stored objects of `Class`, sorted by code point. With the cache on, the list
   * (of at most `cache.max` ids) is kept after the first call and served from memory, kept up to
   * date with this store's own creates and deletes, until another process changes the store
   * (checked as for a cached load).
   */
  async list(Class: SerializableClass): Promise<string[]> {
    this.#check();
    const type = this.registry.register(Class).name;
    return this.#guard('list', type, undefined, this.#listIds(type));
  }

  /** Every stored id by type name: `{ Note: ['a', 'b'], ... }`, types and ids sorted. */
  async listAll(): Promise<Record<string, string[]>> {
    this.#check();
    const all: Array<[string, string[]]> = [];
    const listing = async () => {
      for (const type of await this.#view.listTypes()) all.push([type, await this.#listIds(type)]);
    };
    await this.#guard('list', undefined, undefined, listing());
    // fromEntries defines own properties: a type named "__proto__" is a key like any other.
    return Object.fromEntries(all);
  }

  /** The sorted ids of `type`: kept by the cache, or listed by the backend (and kept). */
  async #listIds(type: string): Promise<string[]> {
    if (this.#cache.enabled) {
      this.#pollChanges();
      const kept = this.#cache.ids.get(type);
      if (kept !== undefined) return kept;
    }
    const writes = this.#writes;
    const ids = await this.#view.list(type);
    // A write since the listing began, or one under way, may have created or deleted an id: do not keep this list.
    if (writes === this.#writes && !this.#overlaps.busyType(type)) this.#cache.ids.set(type, ids);
    return ids;
  }

  /** Deletes every stored object and empties the cache. */
  async clear(): Promise<void> {
    this.#check();
    const clearing = this.#bulk(() => {
      this.#cache.clear();
      return this.#view.clear();
    });
    await this.#guard('clear', undefined, undefined, clearing);
    this.#told([{ reset: true }]);
  }

  /**
   * Deletes every stored object that no root reaches through container references, and drops
   * them from the cache. Objects held by a Serializable are part of its document, not separate.
   * @returns what was deleted (with `dryRun`: what would be), by type: `{ Note: ['a', 'b'] }`.
   * @throws NotFoundError when a root is not stored; nothing is deleted then.
   */
  async gc(roots: readonly Serializable[], options: GcOptions = {}): Promise<Record<string, string[]>> {
    this.#check();
    checkOptions('gc', options, ['dryRun']);
    if (!Array.isArray(roots)) throw new TypeError(`gc expects an array of root objects, got ${describe(roots)}`);
    const keys = roots.map((root) => {
      const info = this.#infoOf(root);
      checkId(root.id, info.name);
      return { type: info.name, id: root.id };
    });
    const garbage = await this.#guard('collect garbage in', undefined, undefined, unreachable(this.#graph, keys));
    if (options.dryRun) return garbage;
    const collecting = this.#bulk(async () => {
      for (const [type, ids] of Object.entries(garbage)) {
        this.#cache.ids.drop(type);
        for (const id of ids) this.#cache.delete(type, id);
        const deleted = await this.#view.deleteMany(type, ids);
        this.#told(ids.flatMap((id, i) => (deleted[i] ? [{ type, id, version: 0, deleted: true }] : [])));
      }
    });
    await this.#guard('collect garbage in', undefined, undefined, collecting);
    return garbage;
  }

  /**
   * Reads every record once (streaming) and reports those that cannot be read and every
   * container reference whose target is not stored, with its path.
   */
  async verify(): Promise<VerifyReport> {
    this.#check();
    return this.#guard('verify', undefined, undefined, verify(this.#graph));
  }

  /**
   * Streams every stored record to a file path or a writable stream as an NDJSON dump
   * (docs/dump-format.md), in constant memory. A path is written to a temp file and renamed into
   * place when complete.
   */
  async exportTo(destination: string | DumpWritable, options?: ExportOptions): Promise<ExportSummary> {
    this.#check();
    return this.#guard('export', undefined, undefined, theDumpFiles('exportTo').exportTo(this.#view, destination, options));
  }

  /**
   * Imports an NDJSON dump from a file path or a readable stream, validating every line before
   * the import can no longer be undone (see docs/dump-format.md). Empties the cache.
   * @throws DumpFormatError naming the line of the first problem.
   */
  async importFrom(source: string | DumpReadable, options?: ImportOptions): Promise<ImportSummary> {
    this.#check();
    return this.#guard('import into', undefined, undefined, this.#importing(() => theDumpFiles('importFrom').importFrom(this.#view, source, options)));
  }

  /**
   * A consistent copy of the store in the file `destination` while the application keeps writing:
   * on SQLite a database file (SQLite's online backup API) that opens as a store, elsewhere an
   * NDJSON dump; both restore with `cuttle restore`. See docs/backup.md.
   */
  async backup(destination: string, options?: BackupOptions): Promise<BackupSummary> {
    this.#check();
    return this.#guard('back up', undefined, undefined, backupBackend(this.#view, destination, options));
  }

  /**
   * Rewrites every stored object of `Class` that an older version of the class wrote, at its
   * `static version` (see docs/guide.md "Type versions"), in batches, never over a concurrent
   * save; run it again after an interruption and it finishes the rest.
   */
  async upgrade(Class: SerializableClass, options?: UpgradeOptions): Promise<UpgradeSummary> {
    this.#check();
    return this.#guard('upgrade', this.registry.register(Class).name, undefined, upgradeType(this, Class, options));
  }

  /** Every stored record in memory: `{ header, records }`. For small stores; see {@link Store.exportTo}. */
  async exportData(): Promise<Dump> {
    this.#check();
    return this.#guard('export', undefined, undefined, exportData(this.#view));
  }

  /** Imports a dump held in memory (what `exportData` returns, or NDJSON text). Empties the cache. */
  async importData(dump: Dump | string, options?: ImportOptions): Promise<ImportSummary> {
    this.#check();
    return this.#guard('import into', undefined, undefined, this.#importing(() => importData(this.#view, dump, options)));
  }

  /**
   * The NDJSON dump (the same bytes as {@link Store.exportTo} writes) as a `Blob`, e.g. to offer
   * as a download in a browser. Built in memory: for stores that fit in it.
   */
  async exportBlob(options?: ExportOptions): Promise<Blob> {
    this.#check();
    return this.#guard('export', undefined, undefined, exportBlob(this.backend, options));
  }

  /**
   * Imports an NDJSON dump from a `Blob` or a `File` (an `<input type="file">`'s), read as a
   * stream and validated like {@link Store.importFrom}. Empties the cache.
   * @throws DumpFormatError naming the line of the first problem.
   */
  async importBlob(blob: Blob, options?: ImportOptions): Promise<ImportSummary> {
    this.#check();
    return this.#guard('import into', undefined, undefined, this.#importing(() => importBlob(this.backend, blob, options)));
  }

  /** The stored version `obj` was last saved or loaded at by this store, or `undefined`. */
  versionOf(obj: Serializable): number | undefined {
    return this.#versions.get(obj);
  }

  /** Whether {@link Store.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the backend and empties the cache; further calls throw `ClosedError`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache.clear();
    this.#stopFeed?.();
    this.#stopPolling();
    storesOn.get(this.#view.inner)?.delete(this);
    await this.#guard('close', undefined, undefined, this.#view.close());
  }

  /** What {@link transaction} needs of this store. */
  #hostTransactions(): TransactionHost {
    return {
      backend: this.#view,
      codec: this.#codec,
      registry: this.registry,
      refOf: this.#refOf,
      versionOf: (obj) => this.#versions.get(obj),
      cached: (type, id) => this.#cache.peek(type, id) as Serializable | undefined,
      opened: (owned) => {
        this.#openTransactions.add(owned);
        return () => this.#openTransactions.delete(owned);
      },
      committed: (effects) => this.#committed(effects),
      rolledBack: (saved) => {
        for (const obj of saved) {
          const type = this.#typeOf(obj);
          if (this.#cache.peek(type, obj.id) === obj) this.#cache.delete(type, obj.id);
        }
      },
    };
  }

  /** A committed transaction's saves and deletes, in order: versions, cache, kept id lists, change events. */
  #committed(effects: readonly TransactionEffect[]): void {
    // Like a write's two counts: a load that overlapped the commit keeps nothing it read.
    this.#writes++;
    for (const effect of effects) {
      if (effect.deleted) {
        const { type, id } = effect;
        if (this.#loading.size > 0) this.#loading.delete(objectKey(type, id));
        this.#cache.delete(type, id);
        if (this.#overlaps.busy(type, id)) this.#cache.ids.drop(type);
        else this.#cache.ids.remove(type, id);
        continue;
      }
      if (effect.record === undefined) {
        // Loaded in the transaction and not saved: its version is known, it is not cached.
        this.#versions.set(effect.obj, effect.version);
        continue;
      }
      const { obj, record } = effect;
      this.#versions.set(obj, record.version);
      if (this.#loading.size > 0) this.#loading.delete(objectKey(record.type, record.id));
      if (this.#overlaps.busy(record.type, record.id)) {
        this.#forget(record.type, record.id);
        continue;
      }
      if (record.version === 1) this.#cache.ids.add(record.type, record.id);
      this.#cache.set(record.type, record.id, obj, record.content);
    }
    this.#writes++;
    this.#told(changesOf(effects));
  }

  /** A save or delete of `obj` through the store while a transaction that loaded or saved it is open. */
  #checkOutside(obj: Serializable, action: string): void {
    for (const owned of this.#openTransactions) {
      if (!owned.has(obj)) continue;
      throw new TransactionError(
        `${action} of ${this.#typeOf(obj)} ${JSON.stringify(obj.id)} through the store while a transaction that loaded or saved it is open: ` +
          `inside the transaction's callback, use tx.${action}(obj); store.${action}, Storage.${action} and obj.${action}() write outside the transaction`,
        'outside',
      );
    }
  }

  /**
   * `work`'s result; a failure of the storage itself (a full disk, a permission denied, SQLite's
   * I/O errors) becomes a {@link BackendError} naming this store, what it was doing and the object.
   */
  async #guard<T>(action: string, type: string | undefined, id: string | undefined, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw BackendError.wrap(error, this.#view.name, action, type, id);
    }
  }

  async #importing(run: () => Promise<ImportSummary>): Promise<ImportSummary> {
    return this.#bulk(async () => {
      try {
        return await run();
      } finally {
        // Even a failed import may have changed a non-atomic backend.
        this.#cache.clear();
        this.#told([{ reset: true }]);
      }
    });
  }

  /**
   * Runs a change of many objects at once (clear, import, gc): no write that overlaps it caches
   * what it wrote (see {@link WriteOverlaps}), nor does a load or listing (see {@link #writing}).
   */
  #bulk<T>(change: () => Promise<T>): Promise<T> {
    return this.#overlaps.bulk(() => this.#writing(change));
  }

  /**
   * Notes that a write of (type, id) begins (see {@link WriteOverlaps}); a load of it already under
   * way is no longer shared with loads that begin from now on, which must see this write.
   */
  #beginWrite(type: string, id: string): OpenWrite {
    if (this.#loading.size > 0) this.#loading.delete(objectKey(type, id));
    return this.#overlaps.begin(type, id);
  }

  /** Drops (type, id) from the cache and its type's kept id list: what is stored is not known here. */
  #forget(type: string, id: string): void {
    this.#cache.delete(type, id);
    this.#cache.ids.drop(type);
  }

  /**
   * Runs a change of the stored data, counting it in #writes when it begins and when it ends: a
   * load or a listing that overlapped it in any way sees another count and keeps nothing of what
   * it read, which may be from before the change.
   */
  async #writing<T>(change: () => Promise<T>): Promise<T> {
    this.#writes++;
    try {
      return await change();
    } finally {
      this.#writes++;
    }
  }

  /** The record saving a document writes. */
  #plan(obj: Serializable, info: TypeInfo, expectedVersion?: number): PlannedWrite {
    checkId(obj.id, info.name);
    return { obj, write: { type: info.name, id: obj.id, kind: info.kind, content: this.#codec.encode(obj, info), expectedVersion } };
  }

  /**
   * Writes the records of `objs` (`writes`, in the same order), as one batch when there are
   * several, then records their versions and caches them (or drops them, with `cache` false).
   */
  async #writeAll(objs: readonly Serializable[], writes: Iterable<RecordWrite>, cache: boolean): Promise<void> {
    // Type and id as they are now: the caller may change obj.id while the write is under way.
    const types = objs.map((obj) => this.#typeOf(obj));
    const ids = objs.map((obj) => obj.id);
    const opens = objs.map((obj, i) => this.#beginWrite(types[i]!, ids[i]!));
    // Counted at both ends, as #writing does (spelt out here: saves are the hot path).
    this.#writes++;
    let records: StoredRecord[];
    try {
      if (objs.length === 1) {
        const [only] = writes;
        records = [await this.#view.write(only!)];
      } else {
        records = await this.#view.writeMany(writes);
      }
    } catch (error) {
      // After a failed write (a conflict above all) cached copies may be out of date, and a
      // batch that is not atomic may have created some of its objects.
      objs.forEach((_, i) => {
        this.#overlaps.end(types[i]!, ids[i]!, opens[i]!);
        this.#forget(types[i]!, ids[i]!);
      });
      if (objs.length === 1) throw BackendError.wrap(error, this.#view.name, 'save', types[0], ids[0]);
      throw BackendError.wrap(error, this.#view.name, `save a batch of ${objs.length} objects`);
    } finally {
      this.#writes++;
    }
    this.#told(records.map((record) => ({ type: record.type, id: record.id, version: record.version, deleted: false })));
    records.forEach((record, i) => {
      const obj = objs[i]!;
      this.#versions.set(obj, record.version);
      if (!this.#overlaps.end(record.type, ids[i]!, opens[i]!)) {
        this.#forget(record.type, record.id);
        return;
      }
      // Version 1: the object was not stored before.
      if (record.version === 1) this.#cache.ids.add(record.type, record.id);
      if (cache) this.#cache.set(record.type, record.id, obj, record.content);
      else this.#cache.delete(record.type, record.id);
    });
  }

  async #loadContainer(info: TypeInfo, id: string, options: LoadOptions | undefined): Promise<Serializable | undefined> {
    const useCache = options?.cache !== false;
    if (useCache) {
      const cached = this.#cached(info.name, id, 'get');
      if (cached !== undefined) return cached;
    }
    const writes = this.#writes;
    const graph = loadGraph(this.#graph, info, id, { dangling: options?.dangling ?? 'error', useCache });
    const { root, loaded } = await this.#guard('load', info.name, id, graph);
    for (const { obj, content, version } of loaded.values()) {
      this.#versions.set(obj, version);
      const type = this.#typeOf(obj);
      if (useCache && writes === this.#writes && !this.#overlaps.busy(type, obj.id)) this.#cache.set(type, obj.id, obj, content);
    }
    return root;
  }

  /**
   * The instance for a record a query found: the cached one if it is at that version, else one
   * made from `data` and cached (unless a write overlapped the query). A container loads as `load`
   * does, with its graph.
   */
  #adopt(info: TypeInfo, record: StoredRecord, data: () => unknown, mark: number): Serializable | Promise<Serializable | undefined> {
    if (info.kind === 'container') return this.get(info.Class, record.id);
    const cached = this.#heldAt(info, record.id, record.version);
    if (cached !== undefined) return cached;
    const obj = this.#codec.construct(info, record.id, data());
    this.#versions.set(obj, record.version);
    if (this.#cache.enabled && mark === this.#writes && !this.#overlaps.busy(info.name, record.id)) this.#cache.set(info.name, record.id, obj, record.content);
    return obj;
  }

  /** The cached object of (info, id) if it is at `version` (without refreshing its place in the LRU order). */
  #heldAt(info: TypeInfo, id: string, version: number): Serializable | undefined {
    if (!this.#cache.enabled) return undefined;
    const cached = this.#cache.peek(info.name, id) as Serializable | undefined;
    return cached !== undefined && cached.id === id && this.#versions.get(cached) === version ? cached : undefined;
  }

  /** {@link Store.#read}, caching the object; `key` is its entry in #loading. */
  async #readAndCache(info: TypeInfo, id: string, key: string): Promise<Serializable | undefined> {
    try {
      return await this.#read(info, id, true);
    } finally {
      this.#loading.delete(key);
    }
  }

  /** Reads and decodes (info.name, id); caches it when `cache` says so, unless a write overlapped. */
  async #read(info: TypeInfo, id: string, cache = false): Promise<Serializable | undefined> {
    const writes = this.#writes;
    let record: StoredRecord | undefined;
    try {
      record = await this.#view.load(info.name, id);
    } catch (error) {
      throw BackendError.wrap(error, this.#view.name, 'load', info.name, id);
    }
    if (record === undefined) return undefined;
    const obj = this.#codec.decode(record.content, info, id);
    this.#versions.set(obj, record.version);
    // A write since the read began, or one under way, may have made this copy stale: hand it out, do not cache it.
    if (cache && writes === this.#writes && !this.#overlaps.busy(info.name, id)) this.#cache.set(info.name, id, obj, record.content);
    return obj;
  }

  /**
   * The object cached for (type, id) if it still carries `id` (its id may have been changed
   * since), after the once-per-iteration check for other processes' changes. `peek`: without
   * counting a hit or a miss and without refreshing its place in the LRU order.
   */
  #cached(type: string, id: string, how: 'get' | 'peek'): Serializable | undefined {
    this.#pollChanges();
    const cached = (how === 'get' ? this.#cache.get(type, id) : this.#cache.peek(type, id)) as Serializable | undefined;
    return cached !== undefined && cached.id === id ? cached : undefined;
  }

  /**
   * Whether the cache has an entry for (type, id), after the check for outside changes. Unlike
   * {@link #cached} it does not read the object: an entry means the record is stored even if the
   * object's `id` was changed since (its record stays until it is deleted), and not reading it
   * saves a cache miss per call on a large collection.
   */
  #cachedEntry(type: string, id: string): boolean {
    this.#pollChanges();
    return this.#cache.has(type, id);
  }

  /**
   * Asks the backend for others' changes (`pollChanges`, which hands them to {@link #outside}) at
   * most once per event-loop iteration: the first cache read sets a flag that the next turn clears,
   * so a busy loop of cached loads pays for one check, not one per load.
   */
  #pollChanges(): void {
    if (this.#checkedThisTurn || this.#view.pollChanges === undefined || !this.#cache.enabled) return;
    this.#checkedThisTurn = true;
    nextTurn(this.#endTurn);
    this.#view.pollChanges();
  }

  /**
   * Others' changes, from the backend's feed or a store on the same backend object: each changed
   * object leaves the cache (and its type's kept id list follows a create or delete); a reset
   * empties it. A load or write of such an object under way caches nothing of what it read or wrote.
   */
  #outside(changes: readonly BackendChange[]): void {
    if (this.#closed) return;
    // A load reading right now may have read the old version: it must not cache it.
    this.#writes++;
    for (const change of changes) {
      if (change.reset === true) {
        this.#cache.clearOutside();
        this.#overlaps.touchAll();
        this.#loading.clear();
      } else {
        const { type, id } = change;
        this.#cache.deleteOutside(type, id);
        this.#overlaps.touch(type, id);
        if (this.#loading.size > 0) this.#loading.delete(objectKey(type, id));
        if (change.deleted) this.#cache.ids.remove(type, id);
        else this.#cache.ids.saved(type, id);
      }
      if (this.#watchers.size > 0) this.#watchers.emit({ ...change, local: false });
    }
  }

  /** This store's own changes, once made: to its watchers, and to the other stores on this backend object. */
  #told(changes: readonly BackendChange[]): void {
    if (changes.length === 0) return;
    if (this.#watchers.size > 0) for (const change of changes) this.#watchers.emit({ ...change, local: true });
    const siblings = storesOn.get(this.#view.inner);
    if (siblings === undefined || siblings.size < 2) return;
    // A store of another namespace never holds these objects: it is not told.
    for (const store of siblings) if (store !== this && store.namespace === this.namespace) store.#outside(changes);
  }

  /** While anyone watches, others' changes are fetched on a timer too (a backend that is polled). */
  #startPolling(): void {
    if (this.#watchTimer !== undefined || this.#view.pollChanges === undefined) return;
    this.#watchTimer = setInterval(() => {
      if (!this.#closed) this.#view.pollChanges?.();
    }, this.#watchInterval);
    (this.#watchTimer as { unref?: () => void }).unref?.();
  }

  #stopPolling(): void {
    if (this.#watchTimer !== undefined) clearInterval(this.#watchTimer);
    this.#watchTimer = undefined;
  }

  readonly #endTurn = (): void => {
    this.#checkedThisTurn = false;
  };

  #typeOf(obj: Serializable): string {
    return this.registry.register(classOf(obj)).name;
  }

  #infoOf(obj: Serializable): TypeInfo {
    if (!(obj instanceof Serializable)) {
      throw new TypeError(`cuttle stores instances of Serializable or Container subclasses, got ${describe(obj)}`);
    }
    return this.registry.register(classOf(obj));
  }

  #check(): void {
    if (this.#closed) throw new ClosedError(`Store (${this.#view.name})`);
  }
}

function checkSaveOptions(options: SaveOptions): void {
  checkOptions('save', options, SAVE_OPTIONS);
  checkInteger('save', 'expectedVersion', options.expectedVersion, 0);
  checkOneOf('save', 'cascade', options.cascade, CASCADES);
}

function checkLoadOptions(options: LoadOptions): void {
  checkOptions('load', options, LOAD_OPTIONS);
  checkOneOf('load', 'dangling', options.dangling, DANGLING_MODES);
}

const CASCADES: readonly Cascade[] = ['new', 'all', 'none'];
const DANGLING_MODES: readonly DanglingMode[] = ['error', 'undefined'];
