/**
 * Which of a store's writes overlapped another write of the same object, or a bulk change
 * (clear, import, gc), while it was under way. Two such writes may reach the backend in one order
 * and finish in the other, so what the later-finishing one would cache is not known to be what is
 * stored: a write that overlapped another caches nothing and drops the object's entry instead
 * (the next load reads the backend). Writes that overlapped nothing, the usual case, cache as usual.
 * @module
 */

/** The writes of one object under way: how many, and whether any two (or a bulk change) overlapped. */
export interface OpenWrite {
  count: number;
  overlapped: boolean;
}

/** The writes under way in one store, by type and id. */
export class WriteOverlaps {
  readonly #open = new Map<string, Map<string, OpenWrite>>();
  /** Bulk changes under way. */
  #bulk = 0;

  /** Notes that a write of (type, id) begins; pass what it returns to {@link end}. */
  begin(type: string, id: string): OpenWrite {
    let ids = this.#open.get(type);
    if (ids === undefined) this.#open.set(type, (ids = new Map()));
    const open = ids.get(id);
    if (open !== undefined) {
      open.count++;
      open.overlapped = true;
      return open;
    }
    const fresh = { count: 1, overlapped: this.#bulk > 0 };
    ids.set(id, fresh);
    return fresh;
  }

  /**
   * Notes that a write of (type, id) ended, successfully or not.
   * @returns whether it overlapped nothing, so that what it wrote may be cached.
   */
  end(type: string, id: string, open: OpenWrite): boolean {
    if (--open.count === 0) {
      const ids = this.#open.get(type)!;
      ids.delete(id);
      if (ids.size === 0) this.#open.delete(type);
    }
    return !open.overlapped;
  }

  /**
   * Whether a write of (type, id), or a bulk change, is under way. A load that read (type, id)
   * while one was may have read the old or the new record, and must not cache it: it checks this
   * when it ends, and the store's write counter for writes that began and ended meanwhile.
   */
  busy(type: string, id: string): boolean {
    return this.#bulk > 0 || (this.#open.get(type)?.has(id) ?? false);
  }

  /** Whether a write of any object of `type`, or a bulk change, is under way (for listings). */
  busyType(type: string): boolean {
    return this.#bulk > 0 || this.#open.has(type);
  }

  /**
   * Notes that someone else changed (type, id): a write of it under way now overlapped a change,
   * and must not cache what it wrote (the other change may have come after it).
   */
  touch(type: string, id: string): void {
    const open = this.#open.get(type)?.get(id);
    if (open !== undefined) open.overlapped = true;
  }

  /** Notes that someone else may have changed anything: every write under way overlapped. */
  touchAll(): void {
    for (const ids of this.#open.values()) for (const open of ids.values()) open.overlapped = true;
  }

  /** Runs a bulk change: every write under way or begun before it ends counts as overlapped. */
  async bulk<T>(change: () => Promise<T>): Promise<T> {
    this.#bulk++;
    this.touchAll();
    try {
      return await change();
    } finally {
      this.#bulk--;
    }
  }
}
