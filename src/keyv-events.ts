/**
 * The little event emitter Keyv asks of a store adapter (`on('error', ...)`), without node:events,
 * so `cuttle/keyv` runs wherever the core does.
 * @module
 */

type Listener = (...args: unknown[]) => void;

/** `on`, `once`, `off` and `emit`, as Node's EventEmitter; an `'error'` nobody listens to is dropped (the call that failed rejects anyway). */
export class KeyvEvents {
  readonly #listeners = new Map<string, Listener[]>();

  /** Calls `listener` on every `event`. */
  on(event: string, listener: Listener): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }

  /** Calls `listener` on the next `event` only. */
  once(event: string, listener: Listener): this {
    const once: Listener = (...args) => {
      this.off(event, once);
      listener(...args);
    };
    return this.on(event, once);
  }

  /** Stops calling `listener` on `event`. */
  off(event: string, listener: Listener): this {
    const kept = (this.#listeners.get(event) ?? []).filter((known) => known !== listener);
    if (kept.length > 0) this.#listeners.set(event, kept);
    else this.#listeners.delete(event);
    return this;
  }

  /** Calls the listeners of `event` with `args`. @returns whether there were any. */
  emit(event: string, ...args: unknown[]): boolean {
    const listeners = this.#listeners.get(event);
    if (listeners === undefined) return false;
    for (const listener of listeners) listener(...args);
    return true;
  }
}
