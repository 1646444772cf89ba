/**
 * The sorted ids of each type as the backend last listed them, kept up to date with the store's
 * own creates and deletes and with others' changes as the change feed reports them, so that `list`
 * answers from memory.
 * @module
 */
import { compareIds, sortIds } from './ids.js';

/** One type's kept list: `sorted` as listed, plus the creates and deletes noted since. */
interface Kept {
  sorted: string[];
  added: Set<string>;
  removed: Set<string>;
}

/** Kept id lists of at most `max` ids each; a list that grows past `max` is dropped. */
export class IdLists {
  readonly #max: number;
  readonly #lists = new Map<string, Kept>();

  /** @param max the longest list kept (the cache's `max`); 0 keeps nothing. */
  constructor(max: number) {
    this.#max = max;
  }

  /** The ids of `type` (sorted, a copy the caller may change), or `undefined` when none is kept. */
  get(type: string): string[] | undefined {
    const kept = this.#lists.get(type);
    if (kept === undefined) return undefined;
    if (kept.added.size > 0 || kept.removed.size > 0) {
      kept.sorted = merge(kept.sorted, kept.added, kept.removed);
      kept.added.clear();
      kept.removed.clear();
    }
    return kept.sorted.slice();
  }

  /** Keeps `ids`, the sorted ids of `type` just listed by the backend, if there are at most `max`. */
  set(type: string, ids: readonly string[]): void {
    if (ids.length <= this.#max) this.#lists.set(type, { sorted: ids.slice(), added: new Set(), removed: new Set() });
  }

  /** Notes that an object of `type` was created under `id` (it was not stored before). */
  add(type: string, id: string): void {
    const kept = this.#lists.get(type);
    if (kept === undefined || kept.removed.delete(id)) return;
    kept.added.add(id);
    if (kept.sorted.length - kept.removed.size + kept.added.size > this.#max) this.#lists.delete(type);
  }

  /**
   * Notes that an object of `type` is stored under `id`, whether it was before or not: for a save
   * someone else made, whose version alone does not say whether it created the object (an import
   * or a put may create it at any version).
   */
  saved(type: string, id: string): void {
    const kept = this.#lists.get(type);
    if (kept === undefined || kept.added.has(id)) return;
    if (kept.removed.delete(id)) return;
    if (!contains(kept.sorted, id)) this.add(type, id);
  }

  /** Notes that the object of `type` stored under `id` was deleted. */
  remove(type: string, id: string): void {
    const kept = this.#lists.get(type);
    if (kept === undefined || kept.added.delete(id)) return;
    kept.removed.add(id);
  }

  /** Forgets the list of `type`: its ids changed in a way not noted (a failed batch, `gc`). */
  drop(type: string): void {
    this.#lists.delete(type);
  }

  clear(): void {
    this.#lists.clear();
  }
}

/** `sorted` without `removed`, with `added` merged in at their places. */
function merge(sorted: readonly string[], added: ReadonlySet<string>, removed: ReadonlySet<string>): string[] {
  const extra = sortIds([...added]);
  const out: string[] = [];
  let next = 0;
  for (const id of sorted) {
    for (let order; next < extra.length && (order = compareIds(extra[next]!, id)) <= 0; next++) {
      if (order < 0) out.push(extra[next]!); // equal: listed already
    }
    if (!removed.has(id)) out.push(id);
  }
  while (next < extra.length) out.push(extra[next++]!);
  return out;
}

/** Whether `sorted` (in {@link compareIds} order) holds `id`: a binary search. */
function contains(sorted: readonly string[], id: string): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const order = compareIds(sorted[middle]!, id);
    if (order === 0) return true;
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

