/**
 * `Storage`: the static facade over one default {@link Store}, so application code can call
 * `Storage.save(note)` anywhere. Until `configure` or `use` is called it is an in-memory store.
 * @module
 */
import type { StorageBackend } from './backends/backend.js';
import { openBackend, type BackendKind, type BackendOptionsByKind } from './kinds.js';
import type { CacheOptions } from './cache.js';
import type { Dump, ExportOptions, ExportSummary, ImportOptions, ImportSummary } from './dump-format.js';
import type { DumpReadable, DumpWritable } from './platform.js';
import type { VerifyReport } from './graph.js';
import type { BackupOptions, BackupSummary } from './backup-types.js';
import type { UpgradeOptions, UpgradeSummary } from './upgrade.js';
import { setDefaultStore, TypeRegistry, type Serializable, type SerializableClass } from './model.js';
import type { GcOptions, LoadOptions, SaveOptions } from './operations.js';
import { Store, type CacheControl, type StoreChange, type WatchOptions } from './store.js';
import type { DeleteOptions, Transaction, TransactionOptions } from './transaction.js';
import { deliver } from './watchers.js';
import type { CountOptions, FindOptions } from './query/query.js';
import type { SearchOptions } from './query/search.js';
import { checkNamespace } from './ids.js';
import { innerOf } from './namespace.js';

/** What every kind of `Storage.configure` also accepts. */
export interface FacadeOptions {
  /** The object cache's bounds, or `false` for none. @default { max: 10000 } */
  cache?: CacheOptions | false;
  /** While someone watches, how often a polled backend (SQLite, file) is asked for others' changes, in ms. @default 100 */
  watchInterval?: number;
  /** Check a cached object's stored version before returning it, where the backend can (`Store` option `strictReads`). @default false */
  strictReads?: boolean;
  /** The namespace the default store keeps its objects in (`Store` option `namespace`). @default '' (the default namespace) */
  namespace?: string;
}

/** A `Storage.watch` listener: it follows the default store across `configure` and `use`. */
interface FacadeWatch {
  readonly listener: (change: StoreChange) => void;
  readonly options: WatchOptions;
  /** Stops it on the store it is attached to now. */
  stop: () => void;
}

/**
 * The static facade: every method forwards to the default {@link Store} (`Storage.store`).
 * Type registrations survive `configure` and `use`.
 */
export class Storage {
  // Both are made on first use: a program that never touches Storage pays nothing for it.
  static #registryInstance: TypeRegistry | undefined;
  static #store: Store | undefined;
  static readonly #watches = new Set<FacadeWatch>();

  static get #registry(): TypeRegistry {
    return (Storage.#registryInstance ??= new TypeRegistry());
  }

  private constructor() {}

  /** The default store. Until `configure` or `use` it keeps objects in memory. */
  static get store(): Store {
    return (Storage.#store ??= new Store({ registry: Storage.#registry }));
  }

  /**
   * Opens a backend by name and makes it the default store, closing the store it replaces.
   *
   *     Storage.configure('sqlite', { path: './data/app.db' })
   *     Storage.configure('memory', { cache: { max: 1000 } })
   */
  static configure<K extends BackendKind>(kind: K, options: BackendOptionsByKind[K] & FacadeOptions = {} as never): Store {
    const { cache, watchInterval, strictReads, namespace, ...backendOptions } = options ?? {};
    // Before the backend is opened: a bad namespace leaves nothing open.
    if (namespace !== undefined && namespace !== '') checkNamespace(`Storage.configure('${String(kind)}')`, namespace);
    const backend = openBackend(kind, backendOptions as BackendOptionsByKind[K], `Storage.configure('${String(kind)}')`, ['cache', 'watchInterval', 'strictReads', 'namespace']);
    return Storage.#replace(new Store({ backend, cache, watchInterval, strictReads, namespace, registry: Storage.#registry }));
  }

  /**
   * Makes `backend` the default store's backend, closing the store it replaces.
   * @param options.cache the object cache's bounds, or `false`.
   * @param options.watchInterval how often a polled backend is asked for others' changes while someone watches.
   * @param options.strictReads check a cached object's stored version before returning it.
   * @param options.namespace the namespace the default store keeps its objects in.
   */
  static use(backend: StorageBackend, options: FacadeOptions = {}): Store {
    const { cache, watchInterval, strictReads, namespace } = options;
    return Storage.#replace(new Store({ backend, cache, watchInterval, strictReads, namespace, registry: Storage.#registry }));
  }

  /** Registers classes so references to them resolve before their first save or load. */
  static register(...classes: SerializableClass[]): void {
    Storage.store.register(...classes);
  }

  /** See {@link Store.save}. */
  static save<T extends Serializable>(obj: T, options?: SaveOptions): Promise<T> {
    return Storage.store.save(obj, options);
  }

  /** See {@link Store.saveMany}. */
  static saveMany<T extends Serializable>(objs: readonly T[]): Promise<T[]> {
    return Storage.store.saveMany(objs);
  }

  /** See {@link Store.load}. */
  static load<T extends Serializable>(Class: SerializableClass<T>, id: string, options?: LoadOptions): Promise<T> {
    return Storage.store.load(Class, id, options);
  }

  /** See {@link Store.get}. */
  static get<T extends Serializable>(Class: SerializableClass<T>, id: string, options?: LoadOptions): Promise<T | undefined> {
    return Storage.store.get(Class, id, options);
  }

  /** See {@link Store.delete}. */
  static delete(obj: Serializable, options?: DeleteOptions): Promise<boolean>;
  static delete(Class: SerializableClass, id: string, options?: DeleteOptions): Promise<boolean>;
  static delete(target: Serializable | SerializableClass, idOrOptions?: string | DeleteOptions, options?: DeleteOptions): Promise<boolean> {
    return Storage.store.delete(target as never, idOrOptions as never, options);
  }

  /** See {@link Store.transaction}: a transaction of the default store. */
  static transaction<T>(work: (tx: Transaction) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return Storage.store.transaction(work, options);
  }

  /** See {@link Store.exists}. */
  static exists(Class: SerializableClass, id: string): Promise<boolean> {
    return Storage.store.exists(Class, id);
  }

  /** See {@link Store.count}. */
  static count(Class: SerializableClass, options?: CountOptions): Promise<number> {
    return Storage.store.count(Class, options);
  }

  /** See {@link Store.find}. */
  static find<T extends Serializable>(Class: SerializableClass<T>, options?: FindOptions): Promise<T[]> {
    return Storage.store.find(Class, options);
  }

  /** See {@link Store.findOne}. */
  static findOne<T extends Serializable>(Class: SerializableClass<T>, options?: Omit<FindOptions, 'limit'>): Promise<T | undefined> {
    return Storage.store.findOne(Class, options);
  }

  /** See {@link Store.findEach}. */
  static findEach<T extends Serializable>(Class: SerializableClass<T>, options?: FindOptions): AsyncIterableIterator<T> {
    return Storage.store.findEach(Class, options);
  }

  /** See {@link Store.search}. */
  static search<T extends Serializable>(Class: SerializableClass<T>, text: string, options?: SearchOptions): Promise<T[]> {
    return Storage.store.search(Class, text, options);
  }

  /** See {@link Store.index}. */
  static index(Class: SerializableClass, path: string): Promise<void> {
    return Storage.store.index(Class, path);
  }

  /** See {@link Store.list}. */
  static list(Class: SerializableClass): Promise<string[]> {
    return Storage.store.list(Class);
  }

  /** See {@link Store.listAll}. */
  static listAll(): Promise<Record<string, string[]>> {
    return Storage.store.listAll();
  }

  /** See {@link Store.clear}. */
  static clear(): Promise<void> {
    return Storage.store.clear();
  }

  /** See {@link Store.gc}. */
  static gc(roots: readonly Serializable[], options?: GcOptions): Promise<Record<string, string[]>> {
    return Storage.store.gc(roots, options);
  }

  /** See {@link Store.verify}. */
  static verify(): Promise<VerifyReport> {
    return Storage.store.verify();
  }

  /** See {@link Store.exportTo}. */
  static exportTo(destination: string | DumpWritable, options?: ExportOptions): Promise<ExportSummary> {
    return Storage.store.exportTo(destination, options);
  }

  /** See {@link Store.importFrom}. */
  static importFrom(source: string | DumpReadable, options?: ImportOptions): Promise<ImportSummary> {
    return Storage.store.importFrom(source, options);
  }

  /** See {@link Store.upgrade}. */
  static upgrade(Class: SerializableClass, options?: UpgradeOptions): Promise<UpgradeSummary> {
    return Storage.store.upgrade(Class, options);
  }

  /** See {@link Store.backup}. */
  static backup(destination: string, options?: BackupOptions): Promise<BackupSummary> {
    return Storage.store.backup(destination, options);
  }

  /** See {@link Store.exportData}. */
  static exportData(): Promise<Dump> {
    return Storage.store.exportData();
  }

  /** See {@link Store.exportBlob}. */
  static exportBlob(options?: ExportOptions): Promise<Blob> {
    return Storage.store.exportBlob(options);
  }

  /** See {@link Store.importBlob}. */
  static importBlob(blob: Blob, options?: ImportOptions): Promise<ImportSummary> {
    return Storage.store.importBlob(blob, options);
  }

  /** See {@link Store.importData}. */
  static importData(dump: Dump | string, options?: ImportOptions): Promise<ImportSummary> {
    return Storage.store.importData(dump, options);
  }

  /** See {@link Store.versionOf}. */
  static versionOf(obj: Serializable): number | undefined {
    return Storage.store.versionOf(obj);
  }

  /** The default store's cache: `Storage.cache.peek(Class, id)`, `.has(Class, id)`, `.stats()`, `.delete(Class, id)`, `.clear()`. */
  static get cache(): CacheControl {
    return Storage.store.cache;
  }

  /**
   * Calls `listener` with every change of a stored object in the default store: its own saves and
   * deletes (`local: true`) and other processes' or servers' (`local: false`), in commit order
   * (`Store.watch`). The watch follows the default store: after `configure` or `use` it reports
   * the new store's changes, starting with a `{ reset: true, local: true }` (what was shown may
   * all be different now).
   *
   *     const stop = Storage.watch((change) => refresh(change), { types: [Note] })
   * @returns the function that stops it.
   */
  static watch(listener: (change: StoreChange) => void, options: WatchOptions = {}): () => void {
    const watch: FacadeWatch = { listener, options, stop: Storage.store.watch(listener, options) };
    Storage.#watches.add(watch);
    return () => {
      if (!Storage.#watches.delete(watch)) return;
      watch.stop();
    };
  }

  /** Closes the default store. Later calls throw `ClosedError` until `configure` or `use`. */
  static close(): Promise<void> {
    return Storage.store.close();
  }

  static #replace(store: Store): Store {
    const previous = Storage.#store;
    Storage.#store = store;
    // The replaced store's backend is released; anything still holding it gets ClosedError.
    if (previous && !previous.closed && innerOf(previous.backend) !== innerOf(store.backend)) void previous.close().catch(() => {});
    for (const watch of Storage.#watches) Storage.#move(watch, store);
    return store;
  }

  /** Moves a facade watch to the new default store, telling its listener that everything may differ. */
  static #move(watch: FacadeWatch, store: Store): void {
    watch.stop();
    watch.stop = store.watch(watch.listener, watch.options);
    deliver(watch.listener, { reset: true, local: true }, watch.options.onError);
  }
}

// Instance sugar (`note.save()`, `Note.load(id)`) finds the default store here.
setDefaultStore(() => Storage.store);
