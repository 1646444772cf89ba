/**
 * The object cache in front of every backend: lru-cache keyed by `type:id`, holding live
 * instances (an identity map), with hit/miss/eviction counters.
 * @module
 */
import { LRUCache } from 'lru-cache';
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
  /** Times the cache was emptied because another process or connection changed the store. */
  outsideChanges: number;
}

/** The default bound on cached objects. */
export const DEFAULT_CACHE_MAX = 10_000;

/**
 * An LRU map from `type:id` to the live instance last saved or loaded. Disabled (`false`), it
 * holds nothing and counts nothing.
 *
 * Lookups take the type and the id apart and find the entry's key through a map of maps, so that
 * a hit does not build the string `type:id`: a new string must be copied and hashed before a Map
 * can look it up (~270 ns here, against ~70 ns for the two lookups of strings already hashed).
 */
export class ObjectCache {
  readonly #lru: LRUCache<string, object> | undefined;
  /** type -> id -> the key of its entry in #lru, for every entry #lru holds. */
  readonly #keys = new Map<string, Map<string, string>>();
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #outsideChanges = 0;

  constructor(options: CacheOptions | false = {}) {
    if (options === false) return;
    checkOptions('cache', options, ['max', 'maxSize', 'ttl', 'now']);
    checkInteger('cache', 'max', options.max, 1);
    checkInteger('cache', 'maxSize', options.maxSize, 0);
    checkInteger('cache', 'ttl', options.ttl, 0);
    const { now } = options;
    this.#lru = new LRUCache<string, object>({
      max: options.max ?? DEFAULT_CACHE_MAX,
      ...(options.maxSize ? { maxSize: options.maxSize } : {}),
      ...(options.ttl ? { ttl: options.ttl, ttlAutopurge: false } : {}),
      // An injected clock is read on every check: lru-cache's 1 ms reading cache would hide its steps.
      ...(now ? { perf: { now }, ttlResolution: 0 } : {}),
      dispose: (_value, key, reason) => {
        if (reason === 'evict') this.#evictions++;
        // 'set' replaces the value under a key that stays; anything else removes the key.
        if (reason !== 'set') this.#forget(key);
      },
    });
  }

  /** Whether this cache holds anything at all (false when configured with `cache: false`). */
  get enabled(): boolean {
    return this.#lru !== undefined;
  }

  /** The instance cached for (type, id), counting a hit or a miss. */
  get(type: string, id: string): object | undefined {
    if (!this.#lru) return undefined;
    const key = this.#keys.get(type)?.get(id);
    const value = key === undefined ? undefined : this.#lru.get(key);
    if (value === undefined) this.#misses++;
    else this.#hits++;
    return value;
  }

  /** The instance cached for (type, id), without counting or refreshing its recency. */
  peek(type: string, id: string): object | undefined {
    const key = this.#keys.get(type)?.get(id);
    return key === undefined ? undefined : this.#lru?.peek(key);
  }

  /** Caches `value` for (type, id); `content` is its stored form, measured only when `maxSize` is set. */
  set(type: string, id: string, value: object, content: string): void {
    if (!this.#lru) return;
    let ids = this.#keys.get(type);
    if (!ids) this.#keys.set(type, (ids = new Map()));
    let key = ids.get(id);
    if (key === undefined) ids.set(id, (key = cacheKey(type, id)));
    if (!this.#lru.maxSize) {
      this.#lru.set(key, value);
      return;
    }
    this.#lru.set(key, value, { size: Math.max(1, Buffer.byteLength(content)) });
    // lru-cache does not keep an entry larger than maxSize: then the key must go from the index.
    if (!this.#lru.has(key)) this.#forget(key);
  }

  /** Drops the entry of (type, id). @returns whether it was cached. */
  delete(type: string, id: string): boolean {
    const key = this.#keys.get(type)?.get(id);
    return key !== undefined && (this.#lru?.delete(key) ?? false);
  }

  /** Drops every entry; the counters are kept. */
  clear(): void {
    this.#lru?.clear();
    this.#keys.clear();
  }

  /** Drops every entry because the store changed behind this cache's back; counted in stats. */
  clearStale(): void {
    this.#outsideChanges++;
    this.clear();
  }

  /** Removes `key` (`type:id`) from the index of keys. */
  #forget(key: string): void {
    const colon = key.indexOf(':');
    const type = key.slice(0, colon);
    const ids = this.#keys.get(type);
    if (ids?.delete(key.slice(colon + 1)) && ids.size === 0) this.#keys.delete(type);
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
    };
  }
}

/** The cache key of (type, id). Type names cannot contain ':', so the key is unambiguous. */
export function cacheKey(type: string, id: string): string {
  return type + ':' + id;
}
