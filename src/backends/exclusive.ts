/**
 * Turns for work that must have a backend to itself while it awaits (a transaction, an import):
 * {@link Exclusive.hold} waits for the holder before it, then holds until its work settles. Calls
 * that must not run meanwhile wait with `while (gate.held) await gate.held`: a loop, because when
 * one holder lets go, another waiter may take hold before this one resumes.
 * @module
 */
export class Exclusive {
  #held: Promise<void> | undefined;

  /** Settles when the current holder lets go; `undefined` when nobody holds. */
  get held(): Promise<void> | undefined {
    return this.#held;
  }

  /** Runs `work` once nobody else holds, holding until it settles. @returns what `work` resolved to. */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    while (this.#held) await this.#held;
    let release!: () => void;
    this.#held = new Promise((resolve) => (release = resolve));
    try {
      return await work();
    } finally {
      this.#held = undefined;
      release();
    }
  }
}
