/**
 * The reference evaluator: what a {@link Query} means, over decoded documents. Every backend's
 * answer must equal this one's, in order (the query conformance suite checks it); a backend that
 * compiles queries either matches it exactly or leaves the records it cannot judge to it.
 *
 * The type order (sort, and which values a comparison sees): missing < null < boolean < number <
 * BigInt < string < Date < reference < array < object < anything else (Map, Set, binary, ...).
 * `$gt`/`$gte`/`$lt`/`$lte` compare only values of the operand's type; strings compare by code
 * point (as ids do), Dates by time, BigInts as integers, references by type then id. Equality is
 * the same type and value, deep for arrays and plain objects (key order aside).
 * @module
 */
import { compareIds } from '../ids.js';
import { QueryRef, type Query, type QueryNode, type QueryValue, type RefOf, type SortKey } from './query.js';

/** The ranks of the type order. */
export const enum Rank {
  Missing = 0,
  Null = 1,
  Boolean = 2,
  Number = 3,
  BigInt = 4,
  String = 5,
  Date = 6,
  Reference = 7,
  Array = 8,
  Object = 9,
  Other = 10,
}

/** A decoded document and its id, as the evaluator reads them. */
export interface Candidate {
  readonly id: string;
  readonly data: unknown;
}

const MISSING = Symbol('missing');

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The value at `segments` in a document: through plain objects (own keys) and arrays (integer indexes) only. */
export function valueAt(candidate: Candidate, segments: readonly string[]): unknown {
  if (segments.length === 1 && segments[0] === 'id') return candidate.id;
  let value: unknown = candidate.data;
  for (const segment of segments) {
    if (value === null || typeof value !== 'object') return MISSING;
    if (Array.isArray(value)) {
      if (!/^(0|[1-9][0-9]*)$/.test(segment)) return MISSING;
      const index = Number(segment);
      if (index >= value.length) return MISSING;
      value = value[index];
    } else if (isPlainObject(value)) {
      if (!Object.hasOwn(value, segment)) return MISSING;
      value = (value as Record<string, unknown>)[segment];
    } else {
      return MISSING;
    }
  }
  return value === undefined ? MISSING : value;
}

/** The rank of a stored value (`refOf` tells stored objects and references apart). */
export function rankOf(value: unknown, refOf: RefOf): Rank {
  switch (typeof value) {
    case 'boolean':
      return Rank.Boolean;
    case 'number':
      return Rank.Number;
    case 'bigint':
      return Rank.BigInt;
    case 'string':
      return Rank.String;
    case 'symbol':
      return value === MISSING ? Rank.Missing : Rank.Other;
    case 'undefined':
      return Rank.Missing;
    case 'object':
      if (value === null) return Rank.Null;
      if (value instanceof Date) return Rank.Date;
      if (value instanceof QueryRef || refOf(value) !== undefined) return Rank.Reference;
      if (Array.isArray(value)) return Rank.Array;
      return isPlainObject(value) ? Rank.Object : Rank.Other;
    default:
      return Rank.Other;
  }
}

function refKey(value: object, refOf: RefOf): { type: string; id: string } {
  return value instanceof QueryRef ? value : refOf(value)!;
}

/**
 * Orders two values of the same rank: numbers (NaN first), BigInts, strings by code point,
 * booleans, Dates by time (an invalid Date first), references by type then id; arrays, objects and
 * other values are equal here (a sort falls through to the next key, then the id).
 */
function compareSameRank(rank: Rank, a: unknown, b: unknown, refOf: RefOf): number {
  switch (rank) {
    case Rank.Boolean:
      return Number(a) - Number(b);
    case Rank.Number:
      return compareNumbers(a as number, b as number);
    case Rank.BigInt:
      return (a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0;
    case Rank.String:
      return Math.sign(compareIds(a as string, b as string));
    case Rank.Date:
      return compareNumbers((a as Date).getTime(), (b as Date).getTime());
    case Rank.Reference: {
      const x = refKey(a as object, refOf);
      const y = refKey(b as object, refOf);
      return Math.sign(compareIds(x.type, y.type) || compareIds(x.id, y.id));
    }
    default:
      return 0;
  }
}

function compareNumbers(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : -1;
  if (Number.isNaN(b)) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The type order, then the value order within a type: the order of `sort`. */
export function compareValues(a: unknown, b: unknown, refOf: RefOf): number {
  const rankA = rankOf(a, refOf);
  const rankB = rankOf(b, refOf);
  if (rankA !== rankB) return rankA - rankB;
  return compareSameRank(rankA, a, b, refOf);
}

/** Whether a stored value equals an operand: same type, same value; deep for arrays and plain objects. */
export function equals(value: unknown, operand: QueryValue, refOf: RefOf): boolean {
  const rank = rankOf(value, refOf);
  if (rank !== rankOf(operand, refOf)) return false;
  switch (rank) {
    case Rank.Number:
      return value === operand;
    case Rank.Date:
      return (value as Date).getTime() === (operand as Date).getTime();
    case Rank.Array: {
      const items = value as unknown[];
      const expected = operand as readonly QueryValue[];
      return items.length === expected.length && items.every((item, i) => equals(item, expected[i]!, refOf));
    }
    case Rank.Object: {
      const record = value as Record<string, unknown>;
      const expected = operand as Record<string, QueryValue>;
      // A key holding undefined counts as missing, as for a field.
      const keys = Object.keys(record).filter((key) => record[key] !== undefined);
      const expectedKeys = Object.keys(expected);
      return keys.length === expectedKeys.length && expectedKeys.every((key) => Object.hasOwn(record, key) && equals(record[key], expected[key]!, refOf));
    }
    case Rank.Other:
      return false;
    default:
      return compareSameRank(rank, value, operand, refOf) === 0;
  }
}

/** Whether the candidate satisfies `node`. */
export function matches(node: QueryNode, candidate: Candidate, refOf: RefOf): boolean {
  switch (node.kind) {
    case 'and':
      return node.nodes.every((child) => matches(child, candidate, refOf));
    case 'or':
      return node.nodes.some((child) => matches(child, candidate, refOf));
    case 'not':
      return !matches(node.negated, candidate, refOf);
    case 'field':
      return test(node.op, valueAt(candidate, node.segments), node.value, refOf);
  }
}

function test(op: Extract<QueryNode, { kind: 'field' }>['op'], value: unknown, operand: QueryValue, refOf: RefOf): boolean {
  switch (op) {
    case 'eq':
      return equals(value, operand, refOf);
    case 'in':
      return (operand as readonly QueryValue[]).some((item) => equals(value, item, refOf));
    case 'exists':
      return (value !== MISSING) === operand;
    case 'startsWith':
      return typeof value === 'string' && value.startsWith(operand as string);
    case 'contains':
      if (Array.isArray(value)) return value.some((item) => equals(item, operand, refOf));
      return typeof value === 'string' && typeof operand === 'string' && value.includes(operand);
    default: {
      // gt, gte, lt, lte: only values of the operand's type; NaN and invalid Dates compare with nothing.
      const rank = rankOf(operand, refOf);
      if (rankOf(value, refOf) !== rank) return false;
      if ((rank === Rank.Number && Number.isNaN(value)) || (rank === Rank.Date && Number.isNaN((value as Date).getTime()))) return false;
      const order = compareSameRank(rank, value, operand, refOf);
      return op === 'gt' ? order > 0 : op === 'gte' ? order >= 0 : op === 'lt' ? order < 0 : order <= 0;
    }
  }
}

/** Compares two candidates by the sort keys, then by id (code point order). */
export function compareCandidates(sort: readonly SortKey[], a: Candidate, b: Candidate, refOf: RefOf): number {
  for (const key of sort) {
    const order = compareValues(valueAt(a, key.segments), valueAt(b, key.segments), refOf);
    if (order !== 0) return order * key.direction;
  }
  return compareIds(a.id, b.id);
}

/** The answer to `query` over `candidates`: matching, sorted, skipped and limited. The oracle of the conformance suite. */
export function evaluate<C extends Candidate>(query: Query, candidates: Iterable<C>, refOf: RefOf): C[] {
  const found: C[] = [];
  for (const candidate of candidates) if (matches(query.where, candidate, refOf)) found.push(candidate);
  found.sort((a, b) => compareCandidates(query.sort, a, b, refOf));
  return found.slice(query.skip, query.limit === undefined ? undefined : query.skip + query.limit);
}
