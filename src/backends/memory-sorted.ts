/**
 * A sorted list for the memory backend's indexes: items kept in order in chunks of at most
 * {@link CHUNK_MAX}, so an insert or a removal moves one chunk's items, not the whole list's (a
 * plain sorted array would move half of 100,000 items per write), and a range is found by binary
 * search. The same idea as Python's `sortedcontainers`, kept to what the indexes need.
 * @module
 */

/** A chunk is split in two when it grows past this many items. */
const CHUNK_MAX = 1024;

/** A place in a {@link SortedList}: chunk, then offset in it. */
interface Position {
  readonly chunk: number;
  readonly offset: number;
}

/** Items in the order of `compare` (which must be total: no two items compare equal unless they are the same). */
export class SortedList<T> {
  readonly #compare: (a: T, b: T) => number;
  #chunks: T[][] = [];
  #size = 0;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  get size(): number {
    return this.#size;
  }

  insert(item: T): void {
    if (this.#chunks.length === 0) {
      this.#chunks.push([item]);
      this.#size = 1;
      return;
    }
    const { chunk, offset } = this.#seek((other) => this.#compare(other, item) < 0, true);
    const items = this.#chunks[chunk]!;
    items.splice(offset, 0, item);
    this.#size++;
    if (items.length > CHUNK_MAX) this.#chunks.splice(chunk, 1, items.slice(0, items.length >> 1), items.slice(items.length >> 1));
  }

  /** Removes the item equal to `item` (by `compare`). @returns whether it was there. */
  remove(item: T): boolean {
    const { chunk, offset } = this.#seek((other) => this.#compare(other, item) < 0);
    const items = this.#chunks[chunk];
    if (items === undefined || offset >= items.length || this.#compare(items[offset]!, item) !== 0) return false;
    items.splice(offset, 1);
    this.#size--;
    if (items.length === 0) this.#chunks.splice(chunk, 1);
    return true;
  }

  /**
   * The items from the first for which `beforeStart` is false up to (not including) the first
   * for which `beforeEnd` is false. Both must be monotone over the order: true for a first run of
   * items, then false.
   */
  *range(beforeStart: (item: T) => boolean, beforeEnd: (item: T) => boolean): IterableIterator<T> {
    let { chunk, offset } = this.#seek(beforeStart);
    const end = this.#seek(beforeEnd);
    while (chunk < end.chunk || (chunk === end.chunk && offset < end.offset)) {
      const items = this.#chunks[chunk]!;
      const stop = chunk === end.chunk ? end.offset : items.length;
      for (; offset < stop; offset++) yield items[offset]!;
      chunk++;
      offset = 0;
    }
  }

  /** Every item, in order (`1`) or in reverse (`-1`). */
  *all(direction: 1 | -1): IterableIterator<T> {
    if (direction === 1) {
      for (const items of this.#chunks) yield* items;
      return;
    }
    for (let chunk = this.#chunks.length - 1; chunk >= 0; chunk--) {
      const items = this.#chunks[chunk]!;
      for (let offset = items.length - 1; offset >= 0; offset--) yield items[offset]!;
    }
  }

  /** How many items {@link range} would give, without walking them. */
  count(beforeStart: (item: T) => boolean, beforeEnd: (item: T) => boolean): number {
    const start = this.#seek(beforeStart);
    const end = this.#seek(beforeEnd);
    if (end.chunk < start.chunk || (end.chunk === start.chunk && end.offset <= start.offset)) return 0;
    let counted = -start.offset + end.offset;
    for (let chunk = start.chunk; chunk < end.chunk; chunk++) counted += this.#chunks[chunk]!.length;
    return counted;
  }

  /**
   * The first position whose item `before` is false for (the end when there is none), by binary
   * search over the chunks' last items, then within the chunk. `forInsert`: past the last item,
   * the end of the last chunk rather than a chunk of its own.
   */
  #seek(before: (item: T) => boolean, forInsert = false): Position {
    const chunks = this.#chunks;
    let low = 0;
    let high = chunks.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (before(chunks[middle]!.at(-1)!)) low = middle + 1;
      else high = middle;
    }
    if (low === chunks.length) return forInsert ? { chunk: low - 1, offset: chunks[low - 1]!.length } : { chunk: low, offset: 0 };
    const items = chunks[low]!;
    let first = 0;
    let last = items.length;
    while (first < last) {
      const middle = (first + last) >> 1;
      if (before(items[middle]!)) first = middle + 1;
      else last = middle;
    }
    return { chunk: low, offset: first };
  }
}
