/**
 * An index of the memory backend: for one type and one path, the ids of the records by the plain
 * JSON value (null, boolean, number, string) they hold there, sorted in the type order of the
 * reference evaluator, so equality, ranges and `$in` are found by binary search. A record the
 * index cannot place by its JSON (annotated at, above or below the path: a Date, BigInt, NaN,
 * undefined, a Map, a reference, shared objects...; or content it cannot read) is kept in a set
 * of its own, which every lookup returns, for the evaluator to judge. A record that holds nothing
 * there, or an array or an object, is kept apart by that rank: no plain operand equals it or ranges
 * over it, but a sort on the path puts it in its place ({@link PathIndex.groups}).
 * @module
 */
import { compareIds } from '../ids.js';
import { Rank, valueAt } from '../query/evaluate.js';
import { QueryRef, type QueryValue } from '../query/query.js';
import type { StoredRecord } from './backend.js';
import { annotationPath, parsedRecord, plainAt } from './memory-parsed.js';
import { SortedList } from './memory-sorted.js';

/** A plain JSON scalar as the type order ranks it. */
type ScalarRank = Rank.Null | Rank.Boolean | Rank.Number | Rank.String;
type Scalar = null | boolean | number | string;

/** One record's value at the index's path (the record is kept, so a lookup needs no further read). */
interface Entry {
  readonly rank: ScalarRank;
  readonly value: Scalar;
  readonly id: string;
  readonly record: StoredRecord;
}

/** One end of an {@link Interval}. */
interface Bound {
  readonly value: Scalar;
  readonly inclusive: boolean;
}

/** The values of one rank between two bounds (an unset bound: that end of the rank). */
export interface Interval {
  readonly rank: ScalarRank;
  readonly low?: Bound;
  readonly high?: Bound;
}

/**
 * Which plain values a condition can match, as intervals of the index's order; `[]` when no
 * plain value can (then only the records left to the evaluator may match).
 */
export type Intervals = readonly Interval[];

function compareScalars(rank: ScalarRank, a: Scalar, b: Scalar): number {
  switch (rank) {
    case Rank.Null:
      return 0;
    case Rank.Boolean:
      return Number(a) - Number(b);
    case Rank.Number:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    default:
      return compareIds(a as string, b as string);
  }
}

/** Where an entry is against a value of a rank: rank first, then value. */
function compareTo(entry: Entry, rank: ScalarRank, value: Scalar): number {
  return entry.rank !== rank ? entry.rank - rank : compareScalars(rank, entry.value, value);
}

function compareEntries(a: Entry, b: Entry): number {
  return compareTo(a, b.rank, b.value) || compareIds(a.id, b.id);
}

/** The rank of a plain JSON scalar, or undefined for anything else. */
function scalarRank(value: unknown): ScalarRank | undefined {
  switch (typeof value) {
    case 'string':
      return Rank.String;
    case 'number':
      return Rank.Number;
    case 'boolean':
      return Rank.Boolean;
    case 'object':
      return value === null ? Rank.Null : undefined;
    default:
      return undefined;
  }
}

/** The index of one path of one type, kept in step by the backend's writes. */
export class PathIndex {
  readonly segments: readonly string[];
  readonly #annotation: readonly string[];
  readonly #entries = new SortedList<Entry>(compareEntries);
  /** The entry of each record in `#entries`. */
  readonly #byId = new Map<string, Entry>();
  /** The records the index cannot place, by id: the evaluator judges them on every lookup. */
  readonly #left = new Map<string, StoredRecord>();
  /** The plain records holding nothing, an array, or an object at the path, by id. */
  readonly #missing = new Map<string, StoredRecord>();
  readonly #arrays = new Map<string, StoredRecord>();
  readonly #objects = new Map<string, StoredRecord>();

  constructor(segments: readonly string[]) {
    this.segments = [...segments];
    this.#annotation = [annotationPath(segments)];
  }

  /** Puts `record` in the index, replacing what it had for that id. */
  add(record: StoredRecord): void {
    this.remove(record.id);
    const parsed = parsedRecord(record);
    if (!('json' in parsed) || !plainAt(parsed, this.#annotation)) {
      this.#left.set(record.id, record);
      return;
    }
    const value = valueAt({ id: record.id, data: parsed.json }, this.segments);
    const rank = scalarRank(value);
    if (rank === undefined) {
      (Array.isArray(value) ? this.#arrays : typeof value === 'object' ? this.#objects : this.#missing).set(record.id, record);
      return;
    }
    const entry: Entry = { rank, value: value as Scalar, id: record.id, record };
    this.#entries.insert(entry);
    this.#byId.set(record.id, entry);
  }

  /** Takes `id` out of the index. */
  remove(id: string): void {
    const entry = this.#byId.get(id);
    if (entry !== undefined) {
      this.#entries.remove(entry);
      this.#byId.delete(id);
    } else {
      for (const held of [this.#left, this.#missing, this.#arrays, this.#objects]) held.delete(id);
    }
  }

  /** The records the index cannot place (those {@link lookup} always adds). */
  get left(): ReadonlyMap<string, StoredRecord> {
    return this.#left;
  }

  /**
   * Every record the index places, in the order of a sort on its path (`direction` 1 ascending,
   * -1 descending), in groups of records whose values there sort as equal: nothing, then each
   * plain value, then arrays, then objects (the evaluator's type order; within a group the
   * order is not given). Records left to the evaluator are not among them (see {@link left}).
   */
  *groups(direction: 1 | -1): IterableIterator<StoredRecord[]> {
    const before = direction === 1 ? [this.#missing] : [this.#objects, this.#arrays];
    const after = direction === 1 ? [this.#arrays, this.#objects] : [this.#missing];
    for (const held of before) if (held.size > 0) yield [...held.values()];
    yield* this.#valueGroups(direction);
    for (const held of after) if (held.size > 0) yield [...held.values()];
  }

  *#valueGroups(direction: 1 | -1): IterableIterator<StoredRecord[]> {
    let group: StoredRecord[] = [];
    let last: Entry | undefined;
    for (const entry of this.#entries.all(direction)) {
      if (last !== undefined && compareTo(entry, last.rank, last.value) !== 0) {
        yield group;
        group = [];
      }
      group.push(entry.record);
      last = entry;
    }
    if (group.length > 0) yield group;
  }

  /** How many ids {@link lookup} gives for `intervals`, without making the list. */
  count(intervals: Intervals): number {
    let counted = this.#left.size;
    for (const interval of intervals) counted += this.#entries.count(...this.#bounds(interval));
    return counted;
  }

  /**
   * The records whose value is in one of `intervals`, then those left to the evaluator. A record
   * is there once per interval holding its value (once, when the intervals do not overlap).
   */
  lookup(intervals: Intervals): StoredRecord[] {
    const records: StoredRecord[] = [];
    for (const interval of intervals) for (const entry of this.#entries.range(...this.#bounds(interval))) records.push(entry.record);
    for (const record of this.#left.values()) records.push(record);
    return records;
  }

  /** The two monotone tests of {@link SortedList.range} for an interval. */
  #bounds({ rank, low, high }: Interval): [(entry: Entry) => boolean, (entry: Entry) => boolean] {
    const beforeStart =
      low === undefined
        ? (entry: Entry) => entry.rank < rank
        : (entry: Entry) => {
            const order = compareTo(entry, rank, low.value);
            return low.inclusive ? order < 0 : order <= 0;
          };
    const beforeEnd =
      high === undefined
        ? (entry: Entry) => entry.rank <= rank
        : (entry: Entry) => {
            const order = compareTo(entry, rank, high.value);
            return high.inclusive ? order <= 0 : order < 0;
          };
    return [beforeStart, beforeEnd];
  }
}

/**
 * The plain values that a field condition `op` with `operand` can match, or undefined when the
 * index cannot say (the operand is an array or an object, which plain arrays and objects the
 * index does not hold could equal; or an operator it does not serve).
 */
export function intervalsOf(op: string, operand: QueryValue): Intervals | undefined {
  switch (op) {
    case 'eq': {
      if (isOpaqueOperand(operand)) return [];
      const rank = scalarRank(operand);
      if (rank === undefined) return undefined;
      const bound = { value: operand as Scalar, inclusive: true };
      return [{ rank, low: bound, high: bound }];
    }
    case 'in': {
      const all: Interval[] = [];
      for (const item of operand as readonly QueryValue[]) {
        const intervals = intervalsOf('eq', item);
        if (intervals === undefined) return undefined;
        all.push(...intervals);
      }
      return all;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      // Only values of the operand's type are compared: a Date or BigInt operand sees no plain value.
      if (isOpaqueOperand(operand)) return [];
      const rank = scalarRank(operand)!;
      const bound = { value: operand as Scalar, inclusive: op === 'gte' || op === 'lte' };
      return [op === 'gt' || op === 'gte' ? { rank, low: bound } : { rank, high: bound }];
    }
    default:
      return undefined;
  }
}

/** An operand no plain JSON value equals or compares with: a BigInt, a Date, a reference. */
function isOpaqueOperand(operand: QueryValue): boolean {
  return typeof operand === 'bigint' || operand instanceof Date || operand instanceof QueryRef;
}

/** The values in both lists of intervals. */
export function intersect(a: Intervals, b: Intervals): Intervals {
  const both: Interval[] = [];
  for (const x of a) {
    for (const y of b) {
      if (x.rank !== y.rank) continue;
      const low = tighter(x.rank, x.low, y.low, 1);
      const high = tighter(x.rank, x.high, y.high, -1);
      if (low !== undefined && high !== undefined) {
        const order = compareScalars(x.rank, low.value, high.value);
        if (order > 0 || (order === 0 && !(low.inclusive && high.inclusive))) continue;
      }
      both.push({ rank: x.rank, ...(low && { low }), ...(high && { high }) });
    }
  }
  return both;
}

/** The tighter of two bounds: the greater low (`side` 1) or the lesser high (`side` -1). */
function tighter(rank: ScalarRank, a: Bound | undefined, b: Bound | undefined, side: 1 | -1): Bound | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const order = compareScalars(rank, a.value, b.value) * side;
  if (order !== 0) return order > 0 ? a : b;
  return a.inclusive ? b : a;
}
