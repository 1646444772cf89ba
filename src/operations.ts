/**
 * The options of a store's operations, shared by `Store`, the `Storage` facade and the instance
 * sugar on `Serializable` (which must not import the store itself).
 * @module
 */

/** What a cascading save does with the objects a container refers to. */
export type Cascade = 'new' | 'all' | 'none';

/** What loading does with a reference whose target is not stored. */
export type DanglingMode = 'error' | 'undefined';

/** Options of `save`. */
export interface SaveOptions {
  /** `false`: do not cache the saved object (and drop any cached copy). @default true */
  cache?: boolean;
  /**
   * Save only if the stored version is this one (0: only if the object is not stored yet);
   * otherwise throw `ConflictError`. The version of an object is `store.versionOf(obj)`.
   */
  expectedVersion?: number;
  /**
   * For a container: which of the objects it reaches are saved with it, in one batch (atomic
   * where the backend is): `'new'` those not saved or loaded through this store yet, `'all'`
   * every one, `'none'` only the container. @default 'new'
   */
  cascade?: Cascade;
}

/** Options of `delete`, on a store, the facade, an object and in a transaction. */
export interface DeleteOptions {
  /**
   * Delete only if the stored version is this one (0: only if it is not stored, which deletes
   * nothing); otherwise throw `ConflictError`.
   */
  expectedVersion?: number;
}

/** Options of `load` and `get`. */
export interface LoadOptions {
  /** `false`: read from the backend, and neither read nor fill the cache. @default true */
  cache?: boolean;
  /**
   * For a container whose references name objects that are no longer stored: `'error'` throws
   * `DanglingReferenceError`, `'undefined'` loads those references as `undefined`.
   * @default 'error'
   */
  dangling?: DanglingMode;
}

/** Options of `gc`. */
export interface GcOptions {
  /** Report what would be deleted without deleting it. @default false */
  dryRun?: boolean;
}
