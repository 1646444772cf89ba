/**
 * Transactions through a store: {@link Transaction} is the `tx` a `store.transaction(async (tx) =>
 * ...)` callback gets, and {@link runTransaction} runs one on the backend's
 * `transaction(fn)`. Nothing of a transaction reaches the store (versions, cache, kept id lists,
 * change events) until the backend has committed it; a rollback leaves the store as it was, but
 * for the cached objects the callback saved, which it may have changed, and which are dropped.
 * @module
 */
import type { BackendChange, BackendTransaction, StorageBackend, StoredRecord } from './backends/backend.js';
import type { Codec } from './codec.js';
import { BackendError, NotFoundError, TransactionError, UnsupportedError } from './errors.js';
import { loadGraph, objectKey, planSave, type LoadContext, type PlannedWrite } from './graph.js';
import { checkId, compareIds } from './ids.js';
import { classOf, Serializable, type SerializableClass, type TypeInfo, type TypeRegistry } from './model.js';
import type { Cascade, DanglingMode, DeleteOptions } from './operations.js';
import { Finder, type QuerySource } from './query/finder.js';
import { toQuery, toWhere, type CountOptions, type FindOptions, type RefOf } from './query/query.js';

export type { DeleteOptions } from './operations.js';
import { checkInteger, checkOneOf, checkOptions, describe } from './options.js';

/** Options of `store.transaction` and `Storage.transaction`. */
export interface TransactionOptions {
  /**
   * How many more times the callback runs when the backend fails the transaction for a conflict
   * with concurrent ones (PostgreSQL's serialization failures and deadlocks), before
   * `TransactionError` with `reason: 'retries'`. SQLite and memory transactions take turns and
   * never fail that way. 0: no retry. @default 5
   */
  retries?: number;
}


/** Options of {@link Transaction.save}. */
export interface TransactionSaveOptions {
  /** As `SaveOptions.expectedVersion`: save only if the stored version is this one (0: not stored yet). */
  expectedVersion?: number;
  /** As `SaveOptions.cascade`, inside the transaction. @default 'new' */
  cascade?: Cascade;
}

/** Options of {@link Transaction.load} and {@link Transaction.get}. */
export interface TransactionLoadOptions {
  /** As `LoadOptions.dangling`. @default 'error' */
  dangling?: DanglingMode;
}

/** The default of {@link TransactionOptions.retries}. */
export const DEFAULT_RETRIES = 5;

/** What a committed transaction did to one object, in order, for its store to take in. */
export type TransactionEffect =
  /** Saved: `record` is what the backend stored. */
  | { readonly obj: Serializable; readonly record: StoredRecord; readonly deleted?: undefined }
  /** Loaded and not saved: its version is known. */
  | { readonly obj: Serializable; readonly version: number; readonly record?: undefined; readonly deleted?: undefined }
  /** Deleted (`version`: the one it had when the transaction deleted it, 0 if not known). */
  | { readonly type: string; readonly id: string; readonly deleted: true };

/** What a transaction needs of its store; the store makes it from its own parts. */
export interface TransactionHost {
  readonly backend: StorageBackend;
  readonly codec: Codec;
  readonly registry: TypeRegistry;
  /** What a query operand that is a stored object or a reference names (the store's). */
  readonly refOf: RefOf;
  /** The version the store last saved or loaded `obj` at, or `undefined`. */
  versionOf(obj: Serializable): number | undefined;
  /** The instance the store caches under (type, id), if any. */
  cached(type: string, id: string): Serializable | undefined;
  /** The transaction holding `owned` (what it loaded or saved) is open; the returned function says it ended. */
  opened(owned: ReadonlySet<Serializable>): () => void;
  /** The backend committed: the store takes in `effects`. */
  committed(effects: readonly TransactionEffect[]): void;
  /** The transaction rolled back: `saved` are the store's cached objects it saved, perhaps changed since. */
  rolledBack(saved: readonly Serializable[]): void;
}

/** One run of the callback: what it read and wrote. */
class Attempt {
  /** The transaction's own identity map: loaded or saved objects by key; `null` once deleted. */
  readonly objects = new Map<string, Serializable | null>();
  /** The stored version of each object as the transaction sees it. */
  readonly versions = new Map<Serializable, number>();
  /** Objects it deleted (by their key, as they were then). */
  readonly deleted = new Set<Serializable>();
  /** Every object loaded or saved in it, which the store may not save or delete meanwhile. */
  readonly owned = new Set<Serializable>();
  /** Objects saved in it that were the store's cached instances when saved. */
  readonly savedCached = new Set<Serializable>();
  readonly effects: TransactionEffect[] = [];
  ended = false;
}

/**
 * The `tx` of a transaction's callback: loads, saves, deletes and queries that are all one
 * transaction on the backend. Its reads and queries see its own writes; two loads of one id (or a
 * load and a query) give one object (the
 * transaction's own, read from the backend inside the transaction, not the store's cached
 * instance). Valid until the callback's promise settles.
 */
export class Transaction {
  readonly #host: TransactionHost;
  readonly #tx: BackendTransaction;
  readonly #attempt: Attempt;
  readonly #graph: LoadContext;
  readonly #finder: Finder;

  /** @internal made by `store.transaction`. */
  constructor(host: TransactionHost, tx: BackendTransaction, attempt: Attempt) {
    this.#host = host;
    this.#tx = tx;
    this.#attempt = attempt;
    this.#graph = {
      backend: tx,
      codec: host.codec,
      registry: host.registry,
      cached: (type, id) => attempt.objects.get(objectKey(type, id)) ?? undefined,
      isStored: (obj) => this.#isStored(obj),
    };
    this.#finder = new Finder({
      backend: this.#querySource(),
      refOf: host.refOf,
      decode: (info, record) => host.codec.decodeData(record.content, info, record.id),
      // Nothing found in a transaction goes to the store's cache: the marks do not matter.
      mark: () => 0,
      adopt: (info, record, data) => this.#adopt(info, record, data),
    });
  }

  /**
   * The object of `Class` stored under `id`, as this transaction sees it (its own saves and
   * deletes included). @throws NotFoundError when nothing is stored under `id`.
   */
  async load<T extends Serializable>(Class: SerializableClass<T>, id: string, options?: TransactionLoadOptions): Promise<T> {
    const obj = await this.get(Class, id, options);
    if (obj === undefined) throw new NotFoundError(this.#host.registry.register(Class).name, id);
    return obj;
  }

  /** Like {@link load}, but resolves to `undefined` when nothing is stored under `id`. */
  async get<T extends Serializable>(Class: SerializableClass<T>, id: string, options: TransactionLoadOptions = {}): Promise<T | undefined> {
    this.#check();
    checkOptions('load', options, ['dangling']);
    checkOneOf('load', 'dangling', options.dangling, ['error', 'undefined']);
    const info = this.#host.registry.register(Class);
    checkId(id, info.name);
    const key = objectKey(info.name, id);
    const known = this.#attempt.objects.get(key);
    if (known !== undefined) return (known ?? undefined) as T | undefined;
    if (info.kind === 'container') return (await this.#loadContainer(info, id, options.dangling ?? 'error')) as T | undefined;
    const record = await this.#guard('load', info.name, id, this.#tx.load(info.name, id));
    if (record === undefined) return undefined;
    const obj = this.#host.codec.decode(record.content, info, id);
    this.#loaded(key, obj, record.version);
    return obj as T;
  }

  /** Whether an object of `Class` is stored under `id`, as this transaction sees it. */
  async exists(Class: SerializableClass, id: string): Promise<boolean> {
    this.#check();
    const info = this.#host.registry.register(Class);
    checkId(id, info.name);
    const known = this.#attempt.objects.get(objectKey(info.name, id));
    if (known !== undefined) return known !== null;
    return this.#guard('check', info.name, id, this.#tx.exists(info.name, id));
  }

  /**
   * Saves `obj` in this transaction (a container with the objects its cascade selects). Its new
   * version shows in {@link versionOf} at once, in `store.versionOf` after the commit.
   * @returns `obj`
   * @throws ConflictError when `expectedVersion` is not the stored version (the callback may
   *   catch it; the transaction goes on without this save).
   */
  async save<T extends Serializable>(obj: T, options: TransactionSaveOptions = {}): Promise<T> {
    this.#check();
    checkOptions('save', options, ['expectedVersion', 'cascade']);
    checkInteger('save', 'expectedVersion', options.expectedVersion, 0);
    checkOneOf('save', 'cascade', options.cascade, ['new', 'all', 'none']);
    const info = infoOf(this.#host.registry, obj);
    let planned: PlannedWrite[];
    if (info.kind === 'container') {
      planned = planSave(this.#graph, obj, info, options.cascade ?? 'new', options.expectedVersion);
    } else {
      checkId(obj.id, info.name);
      const write = { type: info.name, id: obj.id, kind: info.kind, content: this.#host.codec.encode(obj, info), expectedVersion: options.expectedVersion };
      planned = [{ obj, write }];
    }
    for (const { obj: each, write } of planned) {
      // The key as it is now: the caller may change obj.id while the write is under way.
      const key = objectKey(write.type, write.id);
      const record = await this.#guard('save', write.type, write.id, this.#tx.write(write));
      const attempt = this.#attempt;
      if (this.#host.cached(write.type, write.id) === each) attempt.savedCached.add(each);
      attempt.objects.set(key, each);
      attempt.deleted.delete(each);
      attempt.versions.set(each, record.version);
      attempt.owned.add(each);
      attempt.effects.push({ obj: each, record });
    }
    return obj;
  }

  /**
   * Saves each of `objs` in this transaction (containers with the new objects they reach), in
   * (type, id) order: transactions that save overlapping sets through saveMany then lock their
   * rows in one order, and never deadlock each other on PostgreSQL (a deadlock is only found after
   * the server's `deadlock_timeout`, 1 s by default).
   */
  async saveMany<T extends Serializable>(objs: readonly T[]): Promise<T[]> {
    this.#check();
    if (!Array.isArray(objs)) throw new TypeError(`saveMany expects an array of objects, got ${describe(objs)}`);
    const keyed = objs.map((obj) => ({ obj, type: infoOf(this.#host.registry, obj).name }));
    keyed.sort((a, b) => compareIds(a.type, b.type) || compareIds(a.obj.id, b.obj.id));
    for (const { obj } of keyed) await this.save(obj);
    return [...objs];
  }

  /**
   * Deletes an object in this transaction, given itself or its class and id. @returns whether it was stored.
   * @throws ConflictError when `expectedVersion` is not the stored version.
   */
  async delete(obj: Serializable, options?: DeleteOptions): Promise<boolean>;
  async delete(Class: SerializableClass, id: string, options?: DeleteOptions): Promise<boolean>;
  async delete(target: Serializable | SerializableClass, idOrOptions?: string | DeleteOptions, maybeOptions?: DeleteOptions): Promise<boolean> {
    this.#check();
    const { type, id, options, obj } = deleteTarget(this.#host.registry, target, idOrOptions, maybeOptions);
    const deleted = await this.#guard('delete', type, id, this.#tx.delete(type, id, options.expectedVersion));
    const key = objectKey(type, id);
    const previous = this.#attempt.objects.get(key);
    if (previous) {
      this.#attempt.versions.delete(previous);
      this.#attempt.deleted.add(previous);
    }
    if (obj !== undefined) this.#attempt.deleted.add(obj);
    this.#attempt.objects.set(key, null);
    if (deleted) this.#attempt.effects.push({ type, id, deleted: true });
    return deleted;
  }

  /** The stored version of `obj` as this transaction sees it (its own saves included), or `undefined`. */
  versionOf(obj: Serializable): number | undefined {
    if (this.#attempt.deleted.has(obj)) return undefined;
    return this.#attempt.versions.get(obj) ?? this.#host.versionOf(obj);
  }

  /**
   * Transactions do not nest: always throws. Run the work in this transaction (it is all or
   * nothing already), or catch an error inside the callback to go on without the part that failed.
   * @throws TransactionError with `reason: 'nested'`.
   */
  async transaction(): Promise<never> {
    throw new TransactionError(
      `transactions do not nest: this callback already runs in one transaction on ${this.#host.backend.name}; call tx's methods directly`,
      'nested',
    );
  }

  /**
   * As `store.find`, inside this transaction: it sees this transaction's own saves and deletes,
   * and reads through the backend's transaction (its connection, its isolation). An object this
   * transaction loaded or saved is that very instance (as {@link load} gives it); the others are
   * new, and {@link load} gives them from then on. The store's cache is not used.
   * @throws InvalidQueryError for a malformed query, before anything is read.
   * @throws UnsupportedError when the backend's transaction has no queries (neither `find` nor `list`).
   */
  async find<T extends Serializable>(Class: SerializableClass<T>, options?: FindOptions): Promise<T[]> {
    this.#check();
    const info = this.#host.registry.register(Class);
    const query = toQuery(options, this.#host.refOf);
    this.#checkQueries(info);
    return this.#guard('query', info.name, undefined, this.#finder.find(info, query)) as Promise<T[]>;
  }

  /** The first object {@link find} would return (`limit` is 1), or `undefined`. */
  async findOne<T extends Serializable>(Class: SerializableClass<T>, options?: Omit<FindOptions, 'limit'>): Promise<T | undefined> {
    this.#check();
    const info = this.#host.registry.register(Class);
    const query = { ...toQuery(options, this.#host.refOf, 'findOne'), limit: 1 };
    this.#checkQueries(info);
    const [first] = await this.#guard('query', info.name, undefined, this.#finder.find(info, query));
    return first as T | undefined;
  }

  /** How many objects of `Class` this transaction sees (its own writes included); with `where`, how many match it. */
  async count(Class: SerializableClass, options?: CountOptions): Promise<number> {
    this.#check();
    const info = this.#host.registry.register(Class);
    checkOptions('count', options, ['where']);
    const where = toWhere(options?.where, this.#host.refOf);
    this.#checkQueries(info);
    return this.#guard('count', info.name, undefined, this.#finder.count(info, where));
  }

  /**
   * {@link find} as an async iterator that reads a page at a time (as `store.findEach`). Iterate
   * it inside the callback: once the transaction ended, the next page throws `TransactionError`.
   */
  findEach<T extends Serializable>(Class: SerializableClass<T>, options?: FindOptions): AsyncIterableIterator<T> {
    this.#check();
    const info = this.#host.registry.register(Class);
    const query = toQuery(options, this.#host.refOf, 'findEach');
    this.#checkQueries(info);
    return this.#finder.findEach(info, query) as AsyncIterableIterator<T>;
  }

  /**
   * Where queries read: the backend transaction's own `find`, else a scan of its `list` and
   * `loadMany`, each call checked for the transaction having ended. No `createIndex`: an index is
   * made by a query outside a transaction (SQLite cannot build one inside it).
   */
  #querySource(): QuerySource {
    const tx = this.#tx;
    const source: QuerySource = {
      list: (type) => {
        this.#check();
        return tx.list ? tx.list(type) : Promise.reject(this.#noQueries(type));
      },
      loadMany: (type, ids) => {
        this.#check();
        return tx.loadMany(type, ids);
      },
    };
    if (tx.find) {
      source.find = (type, query, options) => {
        this.#check();
        return tx.find!(type, query, options);
      };
    }
    return source;
  }

  #checkQueries(info: TypeInfo): void {
    if (this.#tx.find === undefined && this.#tx.list === undefined) throw this.#noQueries(info.name);
  }

  #noQueries(type: string): UnsupportedError {
    return new UnsupportedError(
      `${this.#host.backend.name}: cannot query ${type} inside a transaction: the backend's transaction has neither find nor list; a backend's transaction answers queries with find or list (docs/transactions.md, "For backend authors")`,
    );
  }

  /** The instance for a record a query found: this transaction's own when it has one for the id (as `get`), else a new one it keeps. */
  #adopt(info: TypeInfo, record: StoredRecord, data: () => unknown): Serializable | Promise<Serializable | undefined> {
    const key = objectKey(info.name, record.id);
    const known = this.#attempt.objects.get(key);
    // null: deleted in this transaction, which a backend's query inside it does not find.
    if (known !== undefined) return known ?? Promise.resolve(undefined);
    if (info.kind === 'container') return this.get(info.Class, record.id);
    const obj = this.#host.codec.construct(info, record.id, data());
    this.#loaded(key, obj, record.version);
    return obj;
  }

  async #loadContainer(info: TypeInfo, id: string, dangling: DanglingMode): Promise<Serializable | undefined> {
    const { root, loaded } = await this.#guard('load', info.name, id, loadGraph(this.#graph, info, id, { dangling, useCache: true }));
    for (const [key, { obj, version }] of loaded) this.#loaded(key, obj, version);
    return root;
  }

  #loaded(key: string, obj: Serializable, version: number): void {
    const attempt = this.#attempt;
    attempt.objects.set(key, obj);
    attempt.versions.set(obj, version);
    attempt.owned.add(obj);
    attempt.effects.push({ obj, version });
  }

  #isStored(obj: Serializable): boolean {
    return this.versionOf(obj) !== undefined;
  }

  async #guard<T>(action: string, type: string, id: string | undefined, work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      throw BackendError.wrap(error, this.#host.backend.name, action, type, id);
    }
  }

  #check(): void {
    if (this.#attempt.ended) {
      throw new TransactionError(
        `this transaction on ${this.#host.backend.name} has ended (its callback's promise settled): use tx only inside the callback, and await every call`,
        'ended',
      );
    }
  }
}

/**
 * Runs `work` in a transaction of `host`'s backend and hands the store what it did once the backend
 * committed it; after a rollback, the store's cached objects that it saved are dropped.
 * @throws UnsupportedError when the backend has no transactions (the file backend).
 */
export async function runTransaction<T>(host: TransactionHost, work: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  if (typeof work !== 'function') throw new TypeError(`transaction expects a callback function, got ${describe(work)}`);
  checkOptions('transaction', options, ['retries']);
  checkInteger('transaction', 'retries', options.retries, 0, 1000);
  const { backend } = host;
  if (!backend.capabilities.transactions || backend.transaction === undefined) {
    throw new UnsupportedError(`${backend.name} has no transactions (capabilities.transactions is false): use a memory, SQLite or PostgreSQL backend, or saveMany for one atomic batch where the backend has atomicBatch`);
  }
  const attempts: Attempt[] = [];
  /** What the callback threw, which is rethrown as it is; anything else is the backend's. */
  let thrown: unknown;
  try {
    const result = await backend.transaction(
      async (tx) => {
        const attempt = new Attempt();
        attempts.push(attempt);
        const ended = host.opened(attempt.owned);
        try {
          return await work(new Transaction(host, tx, attempt));
        } catch (error) {
          thrown = error;
          throw error;
        } finally {
          attempt.ended = true;
          ended();
        }
      },
      { retries: options.retries ?? DEFAULT_RETRIES },
    );
    const last = attempts.at(-1);
    // An object loaded and then deleted in the transaction keeps no version.
    host.committed(last ? last.effects.filter((effect) => effect.deleted || effect.record || !last.deleted.has(effect.obj)) : []);
    return result;
  } catch (error) {
    host.rolledBack(attempts.flatMap((attempt) => [...attempt.savedCached]));
    // The storage failing to begin or commit (SQLite's lock not free within busyTimeout, a lost connection) is a BackendError.
    throw error === thrown ? error : BackendError.wrap(error, backend.name, 'run a transaction');
  }
}

/** The changes a committed transaction reports to watchers and to the other stores on its backend. */
export function changesOf(effects: readonly TransactionEffect[]): BackendChange[] {
  const changes: BackendChange[] = [];
  for (const effect of effects) {
    if (effect.deleted) changes.push({ type: effect.type, id: effect.id, version: 0, deleted: true });
    else if (effect.record) changes.push({ type: effect.record.type, id: effect.record.id, version: effect.record.version, deleted: false });
  }
  return changes;
}

/** Type, id and options of a `delete(obj, options?)` or `delete(Class, id, options?)` call. */
export function deleteTarget(
  registry: TypeRegistry,
  target: Serializable | SerializableClass,
  idOrOptions: string | DeleteOptions | undefined,
  maybeOptions: DeleteOptions | undefined,
): { type: string; id: string; options: DeleteOptions; obj: Serializable | undefined } {
  let info: TypeInfo;
  let id: string;
  let options: DeleteOptions | undefined;
  let obj: Serializable | undefined;
  if (target instanceof Serializable) {
    info = infoOf(registry, target);
    id = target.id;
    obj = target;
    if (typeof idOrOptions === 'string') throw new TypeError(`delete(obj) takes options as its second argument, got the string ${JSON.stringify(idOrOptions)}`);
    options = idOrOptions;
  } else {
    info = registry.register(target);
    id = idOrOptions as string;
    options = maybeOptions;
  }
  checkId(id, info.name);
  options ??= {};
  checkOptions('delete', options, ['expectedVersion']);
  checkInteger('delete', 'expectedVersion', options.expectedVersion, 0);
  return { type: info.name, id, options, obj };
}

function infoOf(registry: TypeRegistry, obj: Serializable): TypeInfo {
  if (!(obj instanceof Serializable)) {
    throw new TypeError(`cuttle stores instances of Serializable or Container subclasses, got ${describe(obj)}`);
  }
  return registry.register(classOf(obj));
}

export type { Attempt };
