/**
 * The listeners of a backend's change feed (`changes(listener)`): subscribe, unsubscribe, deliver
 * a batch to each. A listener that throws is its own problem: the others still get the batch, and
 * the backend goes on.
 * @module
 */
import type { BackendChange, ChangeListener } from './backend.js';

export class ChangeListeners {
  readonly #listeners = new Set<ChangeListener>();

  /** Adds `listener`; @returns the function that removes it (idempotent). */
  add(listener: ChangeListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('changes() expects a listener function');
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const entry: ChangeListener = (changes) => listener(changes);
    this.#listeners.add(entry);
    return () => void this.#listeners.delete(entry);
  }

  get size(): number {
    return this.#listeners.size;
  }

  /** Hands `changes` (if any) to every listener. */
  deliver(changes: readonly BackendChange[]): void {
    if (changes.length === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener(changes);
      } catch {
        // Not the backend's to handle: the store's listener does not throw.
      }
    }
  }
}
