/**
 * The object cache in front of every backend: lru-cache holding live instances by type and id
 * (an identity map), with hit/miss/eviction counters, and the kept id lists of listed types.
 * @module
 */
import { LRUCache } from 'lru-cache';
import { IdLists } from './id-lists.js';
import { checkInteger, checkOptions } from './options.js';

/** Options of the object cache. */
export interface CacheOptions {
  /** Most objects kept. @default 10000 */
  max?: number;
  /**
   * Most bytes kept, counting the UTF-8 length of each object's stored content (not its size in
   * the JS heap). `0` or unset: no byte bound.
   */
  maxSize?: number;
  /** Milliseconds an entry stays usable after it was stored. `0` or unset: no expiry. */
  ttl?: number;
  /** The clock used for `ttl`, in milliseconds; for tests. @default performance.now */
  now?: () => number;
}

/** The counters and bounds of the object cache; see {@link ObjectCache.stats}. */
export interface CacheStats {
  /** Loads answered from the cache. */
  hits: number;
  /** Loads that went to the backend. */
  misses: number;
  /** Entries dropped to respect `max` or `maxSize` (not deletes, not expiries). */
  evictions: number;
  /** Entries held now. */
  size: number;
  /** Bytes held now, as counted for `maxSize` (0 without `maxSize`). */
  calculatedSize: number;
  max: number;
  maxSize: number;
  /** hits / (hits + misses); 0 before any load. */
  hitRate: number;
  /**
   * Changes of single objects that someone else made (another process, connection, server, or
   * Store on the same backend object), as the backend's change feed reported them.
   */
  outsideChanges: number;
  /** Cached objects dropped because of those changes (the rest were not cached). */
  outsideDrops: number;
  /** Times the cache was emptied whole because changes may have been missed, or many were made at once. */
  outsideResets: number;
}

/** The default bound on cached objects. */
export const DEFAULT_CACHE_MAX = 10_000;

/** One cached object: the key of its LRU entry, and where the index finds it. */
interface Entry {
  readonly type: string;
  readonly id: string;
}

/**
 * An LRU map from (type, id) to the live instance last saved or loaded. Disabled (`false`), it
 * holds nothing and counts nothing.
 *
 * An index (type -> id -> entry) finds an object's entry, and the entry object itself is the
 * LRU's key: a lookup never builds the string `type:id`, which a Map must copy and hash before
 * it can look it up (~270 ns here, against ~70 ns for two lookups of strings already hashed).
 * Without `ttl`, `peek` and `has` read a second map (type -> id -> object) and never touch the
 * LRU or the entry.
 */
export class ObjectCache {
  readonly #lru: LRUCache<Entry, object> | undefined;
  /** type -> id -> entry, for every entry #lru holds. */
  readonly #index = new Map<string, Map<string, Entry>>();
  /**
   * type -> id -> cached object: the same keys as #index, holding the objects themselves, so that
   * a peek reads the object one lookup away instead of through its entry. In a cache of 100,000
   * objects each of those reads is a CPU cache miss (~0.1 µs); one map more per cached object.
   */
  readonly #values = new Map<string, Map<string, object>>();
  /** The kept id lists, of at most `max` ids each (none when the cache is off). */
  readonly ids: IdLists;
  /** Entries expire: a peek must ask the LRU whether its entry is still fresh. */
  readonly #expires: boolean;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #outsideChanges = 0;
  #outsideDrops = 0;
  #outsideResets = 0;

  constructor(options: CacheOptions | false = {}) {
    this.#expires = options !== false && !!options.ttl;
    if (options === false) {
      this.ids = new IdLists(0);
      return;
    }
    checkOptions('cache', options, ['max', 'maxSize', 'ttl', 'now']);
    checkInteger('cache', 'max', options.max, 1);
    checkInteger('cache', 'maxSize', options.maxSize, 0);
    checkInteger('cache', 'ttl', options.ttl, 0);
    const max = options.max ?? DEFAULT_CACHE_MAX;
    this.ids = new IdLists(max);
    const { now } = options;
    this.#lru = new LRUCache<Entry, object>({
      max,
      ...(options.maxSize ? { maxSize: options.maxSize } : {}),
      ...(options.ttl ? { ttl: options.ttl, ttlAutopurge: false } : {}),
      // An injected clock is read on every check: lru-cache's 1 ms reading cache would hide its steps.
      ...(now ? { perf: { now }, ttlResolution: 0 } : {}),
      dispose: (_value, entry, reason) => {
        if (reason === 'evict') this.#evictions++;
        // 'set' replaces the value under an entry that stays; anything else removes the entry.
        if (reason !== 'set') this.#forget(entry);
      },
    });
  }

  /** Whether this cache holds anything at all (false when configured with `cache: false`). */
  get enabled(): boolean {
    return this.#lru !== undefined;
  }

  /** Whether any object of `type` is cached (an expired one may count until the LRU notices). */
  holdsAny(type: string): boolean {
    return (this.#index.get(type)?.size ?? 0) > 0;
  }

  /** The instance cached for (type, id), counting a hit or a miss and refreshing its recency. */
  get(type: string, id: string): object | undefined {
    if (!this.#lru) return undefined;
    const entry = this.#index.get(type)?.get(id);
    const value = entry === undefined ? undefined : this.#lru.get(entry);
    if (value === undefined) this.#misses++;
    else this.#hits++;
    return value;
  }

  /** The instance cached for (type, id), without counting or refreshing its recency. */
  peek(type: string, id: string): object | undefined {
    if (!this.#expires) return this.#values.get(type)?.get(id);
    // An expired entry stays in the index until the LRU notices; only the LRU knows the time.
    const entry = this.#index.get(type)?.get(id);
    return entry === undefined ? undefined : this.#lru?.peek(entry);
  }

  /**
   * Whether (type, id) has an entry, without counting or refreshing it, and without reading the
   * cached object (so a changed `id` on it does not matter: the entry says the record is stored).
   */
  has(type: string, id: string): boolean {
    if (!this.#expires) return this.#values.get(type)?.has(id) ?? false;
    const entry = this.#index.get(type)?.get(id);
    return entry !== undefined && (this.#lru?.has(entry) ?? false);
  }

  /** Caches `value` for (type, id); `content` is its stored form, measured only when `maxSize` is set. */
  set(type: string, id: string, value: object, content: string): void {
    if (!this.#lru) return;
    let ids = this.#index.get(type);
    if (!ids) this.#index.set(type, (ids = new Map()));
    let entry = ids.get(id);
    if (entry === undefined) ids.set(id, (entry = { type, id }));
    let values = this.#values.get(type);
    if (!values) this.#values.set(type, (values = new Map()));
    values.set(id, value);
    if (!this.#lru.maxSize) {
      this.#lru.set(entry, value);
      return;
    }
    this.#lru.set(entry, value, { size: Math.max(1, utf8Length(content)) });
    // lru-cache does not keep an entry larger than maxSize: then it must go from the index.
    if (!this.#lru.has(entry)) this.#forget(entry);
  }

  /** Drops the entry of (type, id). @returns whether it was cached. */
  delete(type: string, id: string): boolean {
    const entry = this.#index.get(type)?.get(id);
    return entry !== undefined && (this.#lru?.delete(entry) ?? false);
  }

  /** Drops every entry and every list of ids; the counters are kept. */
  clear(): void {
    this.#lru?.clear();
    this.#index.clear();
    this.#values.clear();
    this.ids.clear();
  }

  /** Drops the entry of (type, id), which someone else changed; counted in stats. */
  deleteOutside(type: string, id: string): void {
    this.#outsideChanges++;
    if (this.delete(type, id)) this.#outsideDrops++;
  }

  /** Drops every entry: someone else may have changed anything; counted in stats. */
  clearOutside(): void {
    this.#outsideResets++;
    this.clear();
  }

  /** Removes `entry` from the index (unless a newer entry took its place there). */
  #forget(entry: Entry): void {
    const ids = this.#index.get(entry.type);
    if (ids?.get(entry.id) !== entry) return;
    ids.delete(entry.id);
    if (ids.size === 0) this.#index.delete(entry.type);
    const values = this.#values.get(entry.type)!;
    values.delete(entry.id);
    if (values.size === 0) this.#values.delete(entry.type);
  }

  /** Counters since the cache was made, and what it holds now. */
  stats(): CacheStats {
    const lookups = this.#hits + this.#misses;
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      size: this.#lru?.size ?? 0,
      calculatedSize: this.#lru?.calculatedSize ?? 0,
      max: this.#lru?.max ?? 0,
      maxSize: this.#lru?.maxSize ?? 0,
      hitRate: lookups === 0 ? 0 : this.#hits / lookups,
      outsideChanges: this.#outsideChanges,
      outsideDrops: this.#outsideDrops,
      outsideResets: this.#outsideResets,
    };
  }
}

/** Node's native byte count where there is one (it is several times faster on large content). */
const nativeByteLength = (globalThis as { Buffer?: { byteLength(text: string): number } }).Buffer?.byteLength;

/** The length of `text` in UTF-8, in bytes: Node's count, or {@link countUtf8} where there is none (browsers). */
export const utf8Length: (text: string) => number = nativeByteLength ?? countUtf8;

/** The length of `text` in UTF-8, in bytes (a lone surrogate counts 3, as its replacement character). */
export function countUtf8(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 4 bytes for its 2 units
      i++;
    } else bytes += 2;
  }
  return bytes;
}
