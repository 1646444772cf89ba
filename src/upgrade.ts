/**
 * `Store.upgrade(Class)`: rewrites every stored record of a class that an older version of it
 * wrote, so that all of them are at the class's `static version` (type-versions.ts). Streams: the
 * ids are listed once, the records read `batchSize` at a time; each stale object is loaded (which
 * upgrades it in memory) and saved back with `expectedVersion`, so a save by someone else in
 * between is never overwritten (the object is read again and retried). Resumable: every record is
 * rewritten on its own, and a record already at the current version is skipped without decoding,
 * so after a kill, running it again finishes the rest.
 * @module
 */
import type { StorageBackend } from './backends/backend.js';
import { ConflictError } from './errors.js';
import type { Serializable, SerializableClass, TypeRegistry } from './model.js';
import type { LoadOptions, SaveOptions } from './operations.js';
import { checkInteger, checkOptions, describe } from './options.js';
import { classVersion, storedVersion } from './type-versions.js';

/** Options of `Store.upgrade` / `Storage.upgrade`. */
export interface UpgradeOptions {
  /** Called after each batch: records `done` of `total` looked at, `upgraded` of them rewritten. */
  onProgress?: (progress: UpgradeProgress) => void;
  /** Records read (and rewritten, at most) per batch. @default 500 */
  batchSize?: number;
}

/** How far an upgrade has come. */
export interface UpgradeProgress {
  done: number;
  total: number;
  upgraded: number;
}

/** What an upgrade did: records looked at, and those rewritten at the class's version. */
export interface UpgradeSummary {
  checked: number;
  upgraded: number;
}

/** What an upgrade needs of a store (a `Store` is one). */
export interface UpgradeTarget {
  readonly backend: StorageBackend;
  readonly registry: TypeRegistry;
  get<T extends Serializable>(Class: SerializableClass<T>, id: string, options?: LoadOptions): Promise<T | undefined>;
  save<T extends Serializable>(obj: T, options?: SaveOptions): Promise<T>;
  versionOf(obj: Serializable): number | undefined;
}

/** A save that lost to another writer this many times in a row gives up with its ConflictError. */
const ATTEMPTS = 5;

/** Rewrites the records of `Class` in `store` that are not at its version (see the module). */
export async function upgradeType(store: UpgradeTarget, Class: SerializableClass, options: UpgradeOptions = {}): Promise<UpgradeSummary> {
  checkOptions('upgrade', options, ['onProgress', 'batchSize']);
  checkInteger('upgrade', 'batchSize', options.batchSize, 1);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new TypeError(`upgrade: onProgress must be a function, got ${describe(options.onProgress)}`);
  }
  const info = store.registry.register(Class);
  const current = classVersion(Class);
  const batchSize = options.batchSize ?? 500;
  const ids = await store.backend.list(info.name);
  let upgraded = 0;
  for (let start = 0; start < ids.length; start += batchSize) {
    const batch = ids.slice(start, start + batchSize);
    const records = await store.backend.loadMany(info.name, batch);
    const stale = batch.filter((_, i) => records[i] !== undefined && storedVersion(records[i]!.content) !== current);
    const results = await Promise.allSettled(stale.map((id) => upgradeOne(store, Class, id, current)));
    for (const result of results) {
      if (result.status === 'rejected') throw result.reason;
      if (result.value) upgraded++;
    }
    options.onProgress?.({ done: start + batch.length, total: ids.length, upgraded });
  }
  if (ids.length === 0) options.onProgress?.({ done: 0, total: 0, upgraded: 0 });
  return { checked: ids.length, upgraded };
}

/** Loads (upgrading) and saves back one object; false when it was deleted or brought up to date by someone else meanwhile. */
async function upgradeOne(store: UpgradeTarget, Class: SerializableClass, id: string, current: number): Promise<boolean> {
  const type = store.registry.register(Class).name;
  for (let attempt = 1; ; attempt++) {
    const obj = await store.get(Class, id, { cache: false });
    if (obj === undefined) return false;
    try {
      await store.save(obj, { expectedVersion: store.versionOf(obj), cascade: 'none', cache: false });
      return true;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= ATTEMPTS) throw error;
      const record = await store.backend.load(type, id);
      if (record === undefined || storedVersion(record.content) === current) return false;
    }
  }
}
