/**
 * How the memory backend answers `find`: it narrows the type's records with an index where the
 * query's top-level conditions allow it, or walks the index of its first sort key in order until
 * it has enough (a sorted query with a limit), then judges each candidate with the reference evaluator
 * on the record's parsed JSON where that is provably what the store would decode (written at the
 * class's type version, not annotated at the paths the query reads: see memory-parsed.ts), and
 * hands the rest back `unchecked` for the store to decode and judge. The evaluator is the last
 * word either way; the index only leaves out records that cannot match.
 * @module
 */
import { compareIds } from '../ids.js';
import { compareValues, matches, valueAt, type Candidate } from '../query/evaluate.js';
import { pathsOf, type Query, type QueryNode, type RefOf } from '../query/query.js';
import type { BackendFindOptions, FindAnswer, StoredRecord } from './backend.js';
import { intersect, intervalsOf, type Intervals, type PathIndex } from './memory-index.js';
import { annotationPath, parsedRecord, plainAt } from './memory-parsed.js';
import { pathKey, type MemoryTable } from './memory-table.js';

/** Plain JSON holds no stored object and no reference. */
const noRefs: RefOf = () => undefined;

/** An answer of records whole: the memory backend has their content at hand, so it ignores `held`. */
type WholeAnswer = Omit<FindAnswer, 'records'> & { readonly records: readonly StoredRecord[] };

const NOTHING: WholeAnswer = Object.freeze({ records: [], count: 0, unchecked: [], skipped: 0 });

interface Judged extends Candidate {
  readonly record: StoredRecord;
}

/**
 * The whole answer of the last query that asked for a page past the first after an earlier page
 * of the same query, kept so its next pages (`findEach` asks for page after page of one filter
 * and sort objects) are slices of it, not the query again. It holds while the table has not
 * changed. A query asked once is answered as it is, only its first skip + limit sorted.
 */
export interface PageCache {
  /** The filter of the last query asked. */
  seen?: QueryNode;
  last?: {
    readonly table: MemoryTable;
    readonly changes: number;
    readonly where: QueryNode;
    readonly sort: Query['sort'];
    readonly version: number;
    readonly exact: readonly StoredRecord[];
    readonly unchecked: readonly StoredRecord[];
  };
}

/**
 * Answers `query` over `table` (see `StorageBackend.find`). Without `options.typeVersion` it
 * cannot tell which records the store would upgrade, so every record goes back unchecked.
 */
export function findIn(table: MemoryTable | undefined, query: Query, options: BackendFindOptions = {}, pages?: PageCache): WholeAnswer {
  if (table === undefined) return NOTHING;
  const version = options.typeVersion;
  if (version === undefined) return { records: [], count: 0, unchecked: [...table.records()], skipped: 0 };
  const again = pages?.seen === query.where;
  if (pages !== undefined) pages.seen = query.where;
  if (pages !== undefined && again && !options.count && query.limit !== undefined && query.skip > 0) {
    const { last } = pages;
    const same = last !== undefined && last.table === table && last.changes === table.changes && last.where === query.where && last.sort === query.sort && last.version === version;
    const whole = same ? last : (pages.last = { table, changes: table.changes, where: query.where, sort: query.sort, version, ...wholeAnswer(table, query, version) });
    return page(whole.exact, whole.unchecked, query);
  }
  const paths = pathsOf(query)
    .filter((segments) => !isId(segments))
    .map(annotationPath);
  const exact: Judged[] = [];
  const unchecked: StoredRecord[] = [];
  const judge = (record: StoredRecord): void => {
    const parsed = parsedRecord(record);
    if (parsed.version !== version || !('json' in parsed) || !plainAt(parsed, paths)) {
      unchecked.push(record);
      return;
    }
    const candidate: Judged = { id: record.id, data: parsed.json, record };
    if (matches(query.where, candidate, noRefs)) exact.push(candidate);
  };
  const end = query.limit === undefined ? Infinity : query.skip + query.limit;
  const narrowed = narrow(table, query.where, version);
  const sorted = options.count || query.sort.length === 0 ? undefined : table.index(query.sort[0]!.segments);
  if (sorted !== undefined && worthWalking(narrowed?.size ?? table.size, end, table.size)) {
    // In the order of the first sort key, a group of equal values at a time, until `end` records
    // match for certain: every record after those sorts after them. Records of other versions and
    // those the index cannot place are all handed back, unchecked.
    for (const group of sorted.groups(query.sort[0]!.direction)) {
      for (const record of group) if (parsedRecord(record).version === version) judge(record);
      if (exact.length >= end) break;
    }
    for (const record of sorted.left.values()) if (parsedRecord(record).version === version) judge(record);
    for (const record of table.otherVersions(version)) unchecked.push(record);
  } else {
    for (const record of narrowed?.records() ?? table.records()) judge(record);
  }
  if (options.count) return { records: [], count: exact.length, unchecked, skipped: 0 };
  return page(first(query.sort, exact, end).map((judged) => judged.record), unchecked, query);
}

/** The answer to `query` of the records matching for certain (`exact`, in order, at least the first skip + limit) and the unchecked ones. */
function page(exact: readonly StoredRecord[], unchecked: readonly StoredRecord[], query: Query): WholeAnswer {
  // With nothing to merge in, the skip is done here, so a page of findEach costs only its own records.
  const skipped = unchecked.length === 0 ? query.skip : 0;
  const records = exact.slice(skipped, query.limit === undefined ? undefined : query.skip + query.limit);
  return { records, count: records.length, unchecked, skipped };
}

/** Every record matching `query`'s filter for certain, in its order, and the unchecked ones. */
function wholeAnswer(table: MemoryTable, query: Query, version: number): { exact: StoredRecord[]; unchecked: readonly StoredRecord[] } {
  const { records, unchecked } = findIn(table, { ...query, skip: 0, limit: undefined }, { typeVersion: version });
  return { exact: [...records], unchecked };
}

/** A judged record with its sort keys' values, read once (the order is `compareCandidates`'s). */
interface Keyed {
  readonly judged: Judged;
  readonly keys: readonly unknown[];
}

/**
 * The first `end` of `judged` in the order of `sort` (its keys, then the id), as
 * `compareCandidates` orders them. Each record's sort values are read once; when `end` is much
 * smaller than the whole, they are picked in one pass into a sorted list of `end`, not sorted whole.
 */
function first(sort: Query['sort'], judged: readonly Judged[], end: number): Judged[] {
  if (end <= 0) return [];
  if (sort.length === 0) return pick([...judged], (a, b) => compareIds(a.id, b.id), end);
  const keyed: Keyed[] = judged.map((item) => ({ judged: item, keys: sort.map((key) => valueAt(item, key.segments)) }));
  const compare = (a: Keyed, b: Keyed): number => {
    for (let i = 0; i < sort.length; i++) {
      const order = compareValues(a.keys[i], b.keys[i], noRefs);
      if (order !== 0) return order * sort[i]!.direction;
    }
    return compareIds(a.judged.id, b.judged.id);
  };
  return pick(keyed, compare, end).map((item) => item.judged);
}

/** The first `end` of `items` (which it may reorder) by `compare`. */
function pick<T>(items: T[], compare: (a: T, b: T) => number, end: number): T[] {
  if (end * 8 >= items.length) return items.sort(compare).slice(0, end);
  const kept: T[] = [];
  for (const item of items) {
    if (kept.length === end && compare(item, kept[end - 1]!) >= 0) continue;
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compare(kept[middle]!, item) < 0) low = middle + 1;
      else high = middle;
    }
    kept.splice(low, 0, item);
    if (kept.length > end) kept.pop();
  }
  return kept;
}

/**
 * `findIn` over `table` as a transaction sees it: `staged` holds the records it wrote (`null`
 * where it deleted one). The table's answer is taken whole (no skip or limit: staged records
 * replace some of it) without the staged ids, and the staged records go back unchecked.
 */
export function findStaged(table: MemoryTable | undefined, staged: ReadonlyMap<string, StoredRecord | null> | undefined, query: Query, options: BackendFindOptions = {}): WholeAnswer {
  if (staged === undefined || staged.size === 0) return findIn(table, query, options);
  const whole = findIn(table, { ...query, skip: 0, limit: undefined }, { ...options, count: false });
  const records = whole.records.filter((record) => !staged.has(record.id));
  const unchecked = whole.unchecked.filter((record) => !staged.has(record.id));
  for (const record of staged.values()) if (record !== null) unchecked.push(record);
  if (options.count) return { records: [], count: records.length, unchecked, skipped: 0 };
  return { records, count: records.length, unchecked, skipped: 0 };
}

const isId = (segments: readonly string[]) => segments.length === 1 && segments[0] === 'id';

/**
 * Whether walking the sort index until `end` matches beats judging the `candidates` the filter
 * leaves: the walk reads about `end` / (candidates / total) records, if the candidates match and
 * are spread evenly over the order.
 */
function worthWalking(candidates: number, end: number, total: number): boolean {
  return end !== Infinity && candidates * candidates > end * total;
}

/** The records a filter may match, and how many there are. */
interface Narrowed {
  readonly size: number;
  records(): Iterable<StoredRecord>;
}

/**
 * The records that may match `where`, each once, from the most selective usable condition of its
 * top-level AND (equality, `$in` or a range on an indexed path with an operand the index serves;
 * equality or `$in` on `id`); undefined when there is none or it would keep the whole type.
 */
function narrow(table: MemoryTable, where: QueryNode, version: number): Narrowed | undefined {
  const byPath = new Map<string, { index: PathIndex; intervals: Intervals }>();
  let best: Narrowed | undefined;
  const consider = (size: number, records: () => Iterable<StoredRecord>) => {
    if (size < (best?.size ?? table.size)) best = { size, records };
  };
  for (const node of conjuncts(where)) {
    if (node.kind !== 'field') continue;
    if (isId(node.segments)) {
      // The id does not depend on the document, so no other record can match, whatever its version.
      const ids = node.op === 'eq' ? [node.value] : node.op === 'in' ? (node.value as readonly unknown[]) : [];
      const held = () => new Set(ids.flatMap((id) => (typeof id === 'string' && table.has(id) ? [table.get(id)!] : [])));
      if (node.op === 'eq' || node.op === 'in') consider(ids.length, held);
      continue;
    }
    const index = table.index(node.segments);
    const intervals = index === undefined ? undefined : intervalsOf(node.op, node.value);
    if (index === undefined || intervals === undefined) continue;
    const key = pathKey(node.segments);
    const known = byPath.get(key);
    byPath.set(key, { index, intervals: known === undefined ? intervals : intersect(known.intervals, intervals) });
  }
  for (const { index, intervals } of byPath.values()) {
    // Records written at another type version are judged after their upgrade, whatever the index says.
    const others = table.otherVersions(version);
    const records = () => {
      const found = index.lookup(intervals);
      // Overlapping intervals ($in with a value twice) or records in both lists would come twice.
      return intervals.length <= 1 && others.length === 0 ? found : new Set([...found, ...others]);
    };
    consider(index.count(intervals) + others.length, records);
  }
  return best;
}

/** The conditions that must all hold: `where` itself, or the children of its (nested) ANDs. */
function* conjuncts(node: QueryNode): IterableIterator<QueryNode> {
  if (node.kind === 'and') for (const child of node.nodes) yield* conjuncts(child);
  else yield node;
}
