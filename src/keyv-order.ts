/**
 * Call order per key for {@link KeyvCuttle}: operations on one key, through any adapter on one
 * cuttle store, take effect in the order they were called, even when the caller does not wait for
 * one before starting the next (`keyv.set(k, v); keyv.delete(k)`), as with Keyv's in-memory Map.
 * On PostgreSQL two calls may otherwise run on two pool connections and finish in either order.
 * Operations on different keys still run concurrently; `clear()` waits for the operations called
 * before it, and operations called after it wait for it.
 * @module
 */

/** The ordering of one store's keys. */
export class KeyOrder {
  /** The last operation called on each key that has not settled yet. */
  readonly #tails = new Map<string, Promise<unknown>>();
  /** A clear under way. */
  #barrier: Promise<unknown> | undefined;

  /** Runs `run` once every earlier operation on any of `keys` (and any earlier clear) has settled. */
  run<T>(keys: readonly string[], run: () => Promise<T>): Promise<T> {
    const before: Array<Promise<unknown>> = this.#barrier ? [this.#barrier] : [];
    for (const key of keys) {
      const tail = this.#tails.get(key);
      if (tail !== undefined) before.push(tail);
    }
    const result = before.length === 0 ? run() : Promise.allSettled(before).then(run);
    const settled = result.then(noop, noop);
    for (const key of keys) this.#tails.set(key, settled);
    void settled.then(() => {
      for (const key of keys) if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return result;
  }

  /** Runs `run` once every operation called before has settled; operations called meanwhile wait for it. */
  runAlone<T>(run: () => Promise<T>): Promise<T> {
    const before = [...this.#tails.values()];
    if (this.#barrier) before.push(this.#barrier);
    const result = Promise.allSettled(before).then(run);
    const settled = result.then(noop, noop);
    this.#barrier = settled;
    void settled.then(() => {
      if (this.#barrier === settled) this.#barrier = undefined;
    });
    return result;
  }
}

function noop(): void {}

const orders = new WeakMap<object, KeyOrder>();

/** The one {@link KeyOrder} of `store`, shared by every adapter on it. */
export function keyOrderOf(store: object): KeyOrder {
  let order = orders.get(store);
  if (order === undefined) orders.set(store, (order = new KeyOrder()));
  return order;
}
