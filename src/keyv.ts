/**
 * `cuttle/keyv`: a [Keyv](https://keyv.org) store adapter over any cuttle {@link Store}, so the
 * libraries that take a Keyv (caches, rate limiters, sessions) keep their data in cuttle's memory,
 * file, SQLite or PostgreSQL backend. For the keyv 5 line; this module does not import keyv.
 *
 *     import Keyv from 'keyv';
 *     import { Store, SqliteBackend } from 'cuttle';
 *     import { KeyvCuttle } from 'cuttle/keyv';
 *     const store = new Store({ backend: new SqliteBackend({ path: 'app.db' }) });
 *     const keyv = new Keyv({ store: new KeyvCuttle(store) });
 * @module
 */
import { KeyvEvents } from './keyv-events.js';
import { keyOrderOf, type KeyOrder } from './keyv-order.js';
import { entryClass, idOfKey, isHashedId, type KeyvEntry, type KeyvEntryClass } from './keyv-entry.js';
import { checkInteger, checkOptions, describe } from './options.js';
import { InvalidOptionError } from './errors.js';
import type { Store } from './store.js';

export { KeyvEntry, type KeyvEntryClass } from './keyv-entry.js';

/** Options of {@link KeyvCuttle}. */
export interface KeyvCuttleOptions {
  /**
   * The type name entries are stored under, `[A-Za-z_][A-Za-z0-9_.-]*`: several adapters on one
   * store with different types never see each other's keys. @default 'keyv'
   */
  type?: string;
  /**
   * The current time in ms since the epoch, for entries set with a ttl (tests pass a fake clock).
   * @default () => Date.now()
   */
  now?: () => number;
  /** How many entries {@link KeyvCuttle.iterator} loads at a time. @default 100 */
  iterationLimit?: number;
}

/** The options Keyv reads from a store adapter (`store.opts`). */
export interface KeyvCuttleOpts {
  /**
   * Keyv 5 offers `keyv.iterator()` only for adapters whose `opts.dialect` is on its list of
   * iterable stores (sqlite, postgres, mongo, redis, ...). The adapter reports `'postgres'` on a
   * PostgreSQL backend and `'sqlite'` on every other: both iterate the same way here.
   */
  dialect: 'sqlite' | 'postgres';
  /** `cuttle:` and the backend's name, e.g. `cuttle:sqlite:/data/app.db`. */
  url: string;
  /** The type name entries are stored under. */
  type: string;
  /** How many entries the iterator loads at a time. */
  iterationLimit: number;
  /** Other options Keyv or its callers set here (the test suite sets `deserialize`). */
  [option: string]: unknown;
}

/**
 * A Keyv store adapter keeping each key as one object (of the type `options.type`) in a cuttle
 * store: `new Keyv({ store: new KeyvCuttle(store) })`. Keys are the objects' ids (a key that is
 * not a valid id, such as one longer than 256 characters, is stored under a SHA-256 of itself);
 * values are kept as Keyv gives them (its serialized string, or any value cuttle can store when
 * Keyv's `serialize` is off). An entry set with a ttl is absent once it expires, and is deleted
 * when a read finds it expired. `clear()` deletes only the keys of its `namespace` (which Keyv
 * sets), or every key of its type when it has none. Failed reads (get, getMany, has, iterator)
 * emit `'error'`, which Keyv would otherwise turn into a silent miss; every failed call rejects.
 * Calls on one key take effect in the order they were made, even unawaited (see keyv-order.ts).
 * The adapter never closes the store: `disconnect()` is a no-op, close the store yourself.
 */
export class KeyvCuttle extends KeyvEvents {
  /** The cuttle store the entries live in. */
  readonly store: Store;
  /** What Keyv reads of this adapter; Keyv and its callers may add to it. */
  readonly opts: KeyvCuttleOpts;
  /** The namespace Keyv gives this adapter; keys arrive already prefixed with `namespace:`. */
  namespace: string | undefined;
  readonly #Entry: KeyvEntryClass;
  readonly #now: () => number;
  readonly #order: KeyOrder;

  constructor(store: Store, options: KeyvCuttleOptions = {}) {
    super();
    checkOptions('KeyvCuttle', options, ['type', 'now', 'iterationLimit']);
    if (store === null || typeof store !== 'object' || typeof (store as Store).save !== 'function') {
      throw new InvalidOptionError(`KeyvCuttle expects a cuttle Store, got ${describe(store)}`);
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      throw new InvalidOptionError(`KeyvCuttle: now must be a function returning ms, got ${describe(options.now)}`);
    }
    checkInteger('KeyvCuttle', 'iterationLimit', options.iterationLimit, 1);
    const type = options.type ?? 'keyv';
    this.store = store;
    this.#Entry = entryClass(type);
    this.#now = options.now ?? (() => Date.now());
    this.#order = keyOrderOf(store);
    this.opts = {
      dialect: store.backend.name.startsWith('postgres') ? 'postgres' : 'sqlite',
      url: `cuttle:${store.backend.name}`,
      type,
      iterationLimit: options.iterationLimit ?? 100,
    };
  }

  /** The value stored under `key`, or `undefined` when there is none or it expired. */
  async get(key: string): Promise<unknown> {
    return this.#reading([key], async () => (await this.#live(key))?.value);
  }

  /** The values of `keys`, in their order, `undefined` where there is none. */
  async getMany(keys: string[]): Promise<unknown[]> {
    return this.#reading(keys, async () => {
      const entries = await Promise.all(keys.map((key) => this.#live(key)));
      return entries.map((entry) => entry?.value);
    });
  }

  /** Whether a live (unexpired) value is stored under `key`. */
  async has(key: string): Promise<boolean> {
    return this.#reading([key], async () => (await this.#live(key)) !== undefined);
  }

  /** {@link has} for each of `keys`. */
  async hasMany(keys: string[]): Promise<boolean[]> {
    return this.#reading(keys, () => Promise.all(keys.map(async (key) => (await this.#live(key)) !== undefined)));
  }

  /**
   * Stores `value` under `key`, replacing what was there. `ttl` in ms: the entry expires that long
   * from now; `undefined`, 0 or a negative ttl means never.
   * @returns true
   */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    // Ordered from the call on: nothing is awaited before the order is taken.
    await this.#order.run([key], async () => this.store.save(await this.#entry(key, value, ttl)));
    return true;
  }

  /** Stores several entries as one batch (one transaction on SQLite, PostgreSQL and memory). */
  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<boolean[]> {
    await this.#order.run(
      entries.map(({ key }) => key),
      async () => this.store.saveMany(await Promise.all(entries.map(({ key, value, ttl }) => this.#entry(key, value, ttl)))),
    );
    return entries.map(() => true);
  }

  /** Deletes `key`. @returns whether a value was stored under it. */
  async delete(key: string): Promise<boolean> {
    return this.#order.run([key], async () => this.store.delete(this.#Entry, await idOfKey(key)));
  }

  /** Deletes `keys`. @returns whether any of them held a value. */
  async deleteMany(keys: string[]): Promise<boolean> {
    const deleted = await this.#order.run(keys, () => Promise.all(keys.map(async (key) => this.store.delete(this.#Entry, await idOfKey(key)))));
    return deleted.some(Boolean);
  }

  /** Deletes every key of this adapter's namespace, or of its type when it has no namespace. */
  async clear(): Promise<void> {
    const prefix = this.namespace ? `${this.namespace}:` : undefined;
    await this.#order.runAlone(async () => {
      for (const id of await this.store.list(this.#Entry)) {
        if (prefix === undefined || id.startsWith(prefix)) {
          await this.store.delete(this.#Entry, id);
        } else if (isHashedId(id)) {
          // A hashed id hides its key: ask the entry.
          const entry = await this.store.get(this.#Entry, id);
          if (entry?.key.startsWith(prefix)) await this.store.delete(this.#Entry, id);
        }
      }
    });
  }

  /**
   * Every live `[key, value]` whose key starts with `namespace:` (every one with no namespace), in
   * key order (hashed keys last), loading `opts.iterationLimit` entries at a time. Keys come with
   * their namespace prefix, as Keyv expects; expired entries are skipped and deleted.
   */
  async *iterator(namespace?: string): AsyncGenerator<[string, unknown], void> {
    const prefix = namespace ? `${namespace}:` : '';
    let ids: string[];
    try {
      ids = await this.store.list(this.#Entry);
    } catch (error) {
      throw this.#report(error);
    }
    const wanted = ids.filter((id) => id.startsWith(prefix) || isHashedId(id));
    const step = this.opts.iterationLimit;
    for (let start = 0; start < wanted.length; start += step) {
      const batch = wanted.slice(start, start + step);
      let entries: Array<KeyvEntry | undefined>;
      try {
        entries = await Promise.all(batch.map((id) => this.#liveById(id)));
      } catch (error) {
        throw this.#report(error);
      }
      for (const entry of entries) {
        if (entry !== undefined && entry.key.startsWith(prefix)) yield [entry.key, entry.value];
      }
    }
  }

  /** Nothing to do: the adapter does not own the store. Close the store when you are done with it. */
  async disconnect(): Promise<void> {}

  /** The live entry of `key`, or undefined (an expired one is deleted). */
  async #live(key: string): Promise<KeyvEntry | undefined> {
    return this.#liveById(await idOfKey(key));
  }

  async #liveById(id: string): Promise<KeyvEntry | undefined> {
    const entry = await this.store.get(this.#Entry, id);
    if (entry === undefined) return undefined;
    if (entry.expires !== undefined && entry.expires <= this.#now()) {
      await this.store.delete(this.#Entry, id);
      return undefined;
    }
    return entry;
  }

  async #entry(key: string, value: unknown, ttl: number | undefined): Promise<KeyvEntry> {
    if (typeof key !== 'string') throw new TypeError(`KeyvCuttle: a key must be a string, got ${describe(key)}`);
    if (ttl !== undefined && ttl !== null && typeof ttl !== 'number') {
      throw new TypeError(`KeyvCuttle: ttl must be a number of ms, got ${describe(ttl)}`);
    }
    const entry = new this.#Entry(await idOfKey(key));
    entry.key = key;
    entry.value = value;
    if (typeof ttl === 'number' && ttl > 0 && Number.isFinite(ttl)) entry.expires = this.#now() + ttl;
    return entry;
  }

  /** Runs `read` in call order with the other operations on `keys`; a failure is emitted as well as thrown. */
  async #reading<T>(keys: readonly string[], read: () => Promise<T>): Promise<T> {
    try {
      return await this.#order.run(keys, read);
    } catch (error) {
      throw this.#report(error);
    }
  }

  #report(error: unknown): unknown {
    this.emit('error', error);
    return error;
  }
}

/** The adapter as the default export too, as Keyv's own adapters are (`import KeyvCuttle from 'cuttle/keyv'`). */
export default KeyvCuttle;
