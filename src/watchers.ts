/**
 * The listeners of `store.watch(...)`: what changed, one event at a time, with whether this store
 * made the change (`local`) or someone else did (another process, connection, server, tab, or
 * another Store on the same backend object).
 * @module
 */
import type { SerializableClass } from './model.js';

/** One change `watch` reports. */
export type StoreChange =
  | {
      readonly type: string;
      readonly id: string;
      /** The new version; for a delete, the last version known (0 when it is not known). */
      readonly version: number;
      readonly deleted: boolean;
      /** Whether this store made the change. */
      readonly local: boolean;
      readonly reset?: undefined;
    }
  | {
      /**
       * Many objects may have changed at once (`clear`, an import, or changes that may have been
       * missed: a pruned log, a dropped connection): read again what you show.
       */
      readonly reset: true;
      readonly local: boolean;
    };

/** Options of `watch`. */
export interface WatchOptions {
  /** Report only changes of these classes (resets are always reported). @default every class */
  types?: readonly SerializableClass[];
  /**
   * Called with what a listener throws. The store and the other listeners go on either way.
   * @default console.error
   */
  onError?: (error: unknown, change: StoreChange) => void;
}

interface Watcher {
  readonly listener: (change: StoreChange) => void;
  /** Type names, or undefined for all. */
  readonly types: ReadonlySet<string> | undefined;
  readonly onError: (error: unknown, change: StoreChange) => void;
}

const logError = (error: unknown) => console.error('cuttle: a watch listener threw', error);

export class Watchers {
  readonly #watchers = new Set<Watcher>();

  get size(): number {
    return this.#watchers.size;
  }

  /** Adds a listener of the changes of `types` (type names; undefined: all). @returns its unsubscribe function. */
  add(listener: (change: StoreChange) => void, types: ReadonlySet<string> | undefined, onError: (error: unknown, change: StoreChange) => void = logError): () => void {
    const watcher: Watcher = { listener, types, onError };
    this.#watchers.add(watcher);
    return () => void this.#watchers.delete(watcher);
  }

  /** Hands `change` to every listener that wants it; a throwing listener goes to its `onError`. */
  emit(change: StoreChange): void {
    for (const watcher of this.#watchers) {
      if (change.reset !== true && watcher.types !== undefined && !watcher.types.has(change.type)) continue;
      deliver(watcher.listener, change, watcher.onError);
    }
  }
}

/** Calls one listener with `change`; what it throws goes to `onError` and no further. */
export function deliver(listener: (change: StoreChange) => void, change: StoreChange, onError: (error: unknown, change: StoreChange) => void = logError): void {
  try {
    listener(change);
  } catch (error) {
    try {
      onError(error, change);
    } catch {
      // An onError that throws too: nothing more to do.
    }
  }
}
