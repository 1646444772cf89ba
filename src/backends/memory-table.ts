/**
 * The records of one type in the memory backend, with what its queries need kept in step: the
 * indexes of the type's indexed paths, the ids of the records by the type version they were
 * written at, and the ids in order (made when asked for, kept until an id comes or goes).
 * @module
 */
import { sortIds } from '../ids.js';
import type { StoredRecord } from './backend.js';
import { PathIndex } from './memory-index.js';
import { storedVersion } from '../type-versions.js';

/** One type's records and indexes. */
export class MemoryTable {
  readonly #records = new Map<string, StoredRecord>();
  readonly #indexes = new Map<string, PathIndex>();
  /** type version -> the records written at it, by id (only versions that some record has). */
  readonly #versions = new Map<number, Map<string, StoredRecord>>();
  #sorted: string[] | undefined;
  #changes = 0;

  /** A table with an (empty) index on each of `paths`. */
  constructor(paths: Iterable<readonly string[]> = []) {
    for (const segments of paths) this.#indexes.set(pathKey(segments), new PathIndex(segments));
  }

  /** A count of the changes made to the table: an answer computed at one count holds until the next. */
  get changes(): number {
    return this.#changes;
  }

  get size(): number {
    return this.#records.size;
  }

  get(id: string): StoredRecord | undefined {
    return this.#records.get(id);
  }

  has(id: string): boolean {
    return this.#records.has(id);
  }

  /** Every record, in no particular order. */
  records(): IterableIterator<StoredRecord> {
    return this.#records.values();
  }

  /** The ids in {@link compareIds} order: a new array the caller may keep. */
  ids(): string[] {
    this.#sorted ??= sortIds([...this.#records.keys()]);
    return [...this.#sorted];
  }

  /** The index on `segments`, if there is one. */
  index(segments: readonly string[]): PathIndex | undefined {
    return this.#indexes.get(pathKey(segments));
  }

  /** Whether there is any index. */
  get indexed(): boolean {
    return this.#indexes.size > 0;
  }

  /** Makes an index on `segments` over the records held; nothing when there is one. */
  addIndex(segments: readonly string[]): void {
    const key = pathKey(segments);
    if (this.#indexes.has(key)) return;
    const index = new PathIndex(segments);
    for (const record of this.#records.values()) index.add(record);
    this.#indexes.set(key, index);
  }

  /** The records written at a type version other than `version`. */
  otherVersions(version: number): StoredRecord[] {
    const records: StoredRecord[] = [];
    for (const [written, held] of this.#versions) if (written !== version) for (const record of held.values()) records.push(record);
    return records;
  }

  set(record: StoredRecord): void {
    this.#changes++;
    const previous = this.#records.get(record.id);
    if (previous === undefined) this.#sorted = undefined;
    else this.#forgetVersion(previous);
    this.#records.set(record.id, record);
    const version = storedVersion(record.content);
    let held = this.#versions.get(version);
    if (held === undefined) this.#versions.set(version, (held = new Map()));
    held.set(record.id, record);
    for (const index of this.#indexes.values()) index.add(record);
  }

  /** @returns whether `id` was there. */
  delete(id: string): boolean {
    const previous = this.#records.get(id);
    if (previous === undefined) return false;
    this.#changes++;
    this.#records.delete(id);
    this.#forgetVersion(previous);
    this.#sorted = undefined;
    for (const index of this.#indexes.values()) index.remove(id);
    return true;
  }

  #forgetVersion(record: StoredRecord): void {
    const version = storedVersion(record.content);
    const held = this.#versions.get(version);
    held?.delete(record.id);
    if (held?.size === 0) this.#versions.delete(version);
  }
}

/** A path's segments as one map key (segments hold no dot). */
export function pathKey(segments: readonly string[]): string {
  return segments.join('.');
}
