/**
 * The query language: what callers write (`Where`, `SortSpec`, `FindOptions`) and the plain tree
 * it is checked and turned into ({@link Query}), once, before any I/O. Backends compile the tree;
 * the reference evaluator (evaluate.ts) gives it its meaning. See docs/query.md.
 * @module
 */
import { InvalidQueryError } from '../errors.js';
import { describe } from '../options.js';

/**
 * A filter: `{ field: value }` (equality), `{ field: { $op: operand } }`, dotted paths
 * (`'author.name'`, `'tags.0'`), and `$and`, `$or`, `$not` at any level. All conditions of one
 * object must hold. `id` is the object's id.
 */
export type Where = { [path: string]: unknown };

/** Sort keys in order of priority: `{ due: 1, title: -1 }`; `1`/`'asc'` ascending, `-1`/`'desc'` descending. Ties are broken by id. */
export type SortSpec = Record<string, 1 | -1 | 'asc' | 'desc'>;

/** Options of `find`, `findOne` and `findEach`. */
export interface FindOptions {
  /** Which objects. @default {} (all) */
  where?: Where;
  /** The order. @default by id */
  sort?: SortSpec;
  /** At most this many results; 0 gives none. @default no limit */
  limit?: number;
  /** Leaves out this many first results. @default 0 */
  skip?: number;
}

/** Options of `count` with a filter. */
export interface CountOptions {
  /** Which objects to count. @default {} (all) */
  where?: Where;
}

/**
 * A reference to a stored object in a query operand: what a `Serializable` operand becomes. Pass
 * one yourself to match a reference by type name and id without the object:
 * `{ owner: new QueryRef('User', 'u1') }`.
 */
export class QueryRef {
  constructor(
    readonly type: string,
    readonly id: string,
  ) {}
}

/** A checked operand: a JSON-like value, a BigInt, a valid Date, a reference; arrays and plain objects of those. */
export type QueryValue = null | boolean | number | bigint | string | Date | QueryRef | readonly QueryValue[] | { readonly [key: string]: QueryValue };

/** The comparisons of a field condition; `$ne` and `$nin` become `not` of `eq` and `in`. */
export type FieldOp = 'eq' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'exists' | 'contains' | 'startsWith';

/** One node of a checked filter. */
export type QueryNode =
  | { readonly kind: 'and'; readonly nodes: readonly QueryNode[] }
  | { readonly kind: 'or'; readonly nodes: readonly QueryNode[] }
  | { readonly kind: 'not'; readonly negated: QueryNode }
  | {
      readonly kind: 'field';
      /** The path as written, for messages. */
      readonly path: string;
      /** Its segments: `['author', 'name']`. */
      readonly segments: readonly string[];
      readonly op: FieldOp;
      /** For `in`: an array of values; `exists`: a boolean; else one value. */
      readonly value: QueryValue;
    };

/** One sort key. */
export interface SortKey {
  readonly path: string;
  readonly segments: readonly string[];
  /** 1 ascending, -1 descending. */
  readonly direction: 1 | -1;
}

/** A checked query, as backends receive it. */
export interface Query {
  readonly where: QueryNode;
  readonly sort: readonly SortKey[];
  /** Undefined: no limit. */
  readonly limit: number | undefined;
  readonly skip: number;
}

/** Turns a stored object in an operand into its reference, or returns undefined for any other value. */
export type RefOf = (value: object) => { type: string; id: string } | undefined;

const COMPARISONS: Record<string, FieldOp> = { $eq: 'eq', $gt: 'gt', $gte: 'gte', $lt: 'lt', $lte: 'lte' };
const FIELD_OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$contains', '$startsWith', '$not'];
const LOGICAL = ['$and', '$or', '$not'];
const FIND_OPTIONS = ['where', 'sort', 'limit', 'skip'];
const ALL: QueryNode = { kind: 'and', nodes: [] };

/**
 * Checks `options` and returns the query tree. `where` names the call, for messages.
 * @throws InvalidQueryError naming the operator or path at fault.
 */
export function toQuery(options: FindOptions | undefined, refOf: RefOf, where = 'find'): Query {
  if (options === undefined) return { where: ALL, sort: [], limit: undefined, skip: 0 };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidQueryError(`${where}: options must be an object { where, sort, limit, skip }, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!FIND_OPTIONS.includes(key)) throw new InvalidQueryError(`${where}: unknown option "${key}"; known options: ${FIND_OPTIONS.join(', ')}`);
  }
  return {
    where: options.where === undefined ? ALL : toNode(options.where, refOf),
    sort: toSort(options.sort),
    limit: count(options.limit, 'limit', where),
    skip: count(options.skip, 'skip', where) ?? 0,
  };
}

/** Checks a filter alone (for `count`). */
export function toWhere(where: unknown, refOf: RefOf): QueryNode {
  return where === undefined ? ALL : toNode(where, refOf);
}

/** Checks and splits a field path: non-empty segments separated by dots, not starting with `$`. */
export function toSegments(path: unknown, context = 'path'): string[] {
  if (typeof path !== 'string' || path === '') throw new InvalidQueryError(`${context} must be a non-empty string, got ${describe(path)}`, String(path));
  const segments = path.split('.');
  for (const segment of segments) {
    if (segment === '') throw new InvalidQueryError(`path "${path}" has an empty segment`, path);
    if (segment.startsWith('$')) throw new InvalidQueryError(`path "${path}": "${segment}" is an operator, not a field name`, path, segment);
  }
  if (segments[0] === 'id' && segments.length > 1) throw new InvalidQueryError(`path "${path}": id is a string, it has no fields`, path);
  return segments;
}

function count(value: unknown, name: string, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidQueryError(`${where}: ${name} must be an integer >= 0, got ${describe(value)}`);
  }
  return value;
}

function toSort(sort: unknown): SortKey[] {
  if (sort === undefined) return [];
  if (sort === null || typeof sort !== 'object' || Array.isArray(sort)) {
    throw new InvalidQueryError(`sort must be an object such as { due: 1, title: -1 }, got ${describe(sort)}`);
  }
  return Object.entries(sort).map(([path, direction]) => {
    const segments = toSegments(path, 'sort path');
    if (direction === 1 || direction === 'asc') return { path, segments, direction: 1 as const };
    if (direction === -1 || direction === 'desc') return { path, segments, direction: -1 as const };
    throw new InvalidQueryError(`sort "${path}": direction must be 1, -1, 'asc' or 'desc', got ${describe(direction)}`, path);
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function toNode(where: unknown, refOf: RefOf): QueryNode {
  if (!isPlainObject(where)) throw new InvalidQueryError(`where must be a plain object such as { done: false }, got ${describe(where)}`);
  const nodes: QueryNode[] = [];
  for (const key of Object.keys(where)) {
    const operand = where[key];
    if (key.startsWith('$')) {
      if (!LOGICAL.includes(key)) throw new InvalidQueryError(`unknown operator ${key} at the top of a filter; known: ${LOGICAL.join(', ')}`, undefined, key);
      if (key === '$not') {
        nodes.push({ kind: 'not', negated: toNode(operand, refOf) });
        continue;
      }
      if (!Array.isArray(operand)) throw new InvalidQueryError(`${key} takes an array of filters, got ${describe(operand)}`, undefined, key);
      const kind = key === '$and' ? 'and' : 'or';
      nodes.push({ kind, nodes: operand.map((child) => toNode(child, refOf)) });
      continue;
    }
    const segments = toSegments(key);
    nodes.push(toField(key, segments, operand, refOf));
  }
  return nodes.length === 1 ? nodes[0]! : { kind: 'and', nodes };
}

/** Whether `operand` is an operator object: a plain object whose keys all start with `$` (and there is one). */
function isOperators(operand: unknown, path: string): operand is Record<string, unknown> {
  if (!isPlainObject(operand)) return false;
  const keys = Object.keys(operand);
  const operators = keys.filter((key) => key.startsWith('$'));
  if (operators.length > 0 && operators.length < keys.length) {
    throw new InvalidQueryError(`"${path}": an object mixing operators (${operators.join(', ')}) and fields cannot be told apart; write { $eq: {...} } for an object value`, path, operators[0]);
  }
  return operators.length > 0;
}

function toField(path: string, segments: string[], operand: unknown, refOf: RefOf): QueryNode {
  const field = (op: FieldOp, value: QueryValue): QueryNode => ({ kind: 'field', path, segments, op, value });
  if (!isOperators(operand, path)) return field('eq', toValue(operand, path, '$eq', refOf));
  const nodes: QueryNode[] = [];
  for (const [operator, value] of Object.entries(operand)) {
    if (!FIELD_OPERATORS.includes(operator)) {
      throw new InvalidQueryError(`"${path}": unknown operator ${operator}; known: ${FIELD_OPERATORS.join(', ')}`, path, operator);
    }
    const comparison = COMPARISONS[operator];
    if (comparison !== undefined) {
      const checked = toValue(value, path, operator, refOf);
      if (comparison !== 'eq' && !isOrdered(checked)) {
        throw new InvalidQueryError(`"${path}": ${operator} compares with a number, BigInt, string, boolean or Date, got ${describe(value)}`, path, operator);
      }
      nodes.push(field(comparison, checked));
    } else if (operator === '$ne') {
      nodes.push({ kind: 'not', negated: field('eq', toValue(value, path, operator, refOf)) });
    } else if (operator === '$in' || operator === '$nin') {
      if (!Array.isArray(value)) throw new InvalidQueryError(`"${path}": ${operator} takes an array of values, got ${describe(value)}`, path, operator);
      const node = field('in', value.map((item) => toValue(item, path, operator, refOf)));
      nodes.push(operator === '$in' ? node : { kind: 'not', negated: node });
    } else if (operator === '$exists') {
      if (typeof value !== 'boolean') throw new InvalidQueryError(`"${path}": $exists takes true or false, got ${describe(value)}`, path, operator);
      nodes.push(field('exists', value));
    } else if (operator === '$contains') {
      nodes.push(field('contains', toValue(value, path, operator, refOf)));
    } else if (operator === '$startsWith') {
      if (typeof value !== 'string') throw new InvalidQueryError(`"${path}": $startsWith takes a string, got ${describe(value)}`, path, operator);
      nodes.push(field('startsWith', value));
    } else {
      // $not on a field: the negation of that field's other conditions.
      nodes.push({ kind: 'not', negated: toField(path, segments, value, refOf) });
    }
  }
  return nodes.length === 1 ? nodes[0]! : { kind: 'and', nodes };
}

function isOrdered(value: QueryValue): boolean {
  return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string' || typeof value === 'boolean' || value instanceof Date;
}

/** Checks one operand. Stored objects become references; anything that has no stored meaning is refused. */
function toValue(value: unknown, path: string, operator: string, refOf: RefOf, depth = 0): QueryValue {
  const refuse = (what: string): never => {
    throw new InvalidQueryError(`"${path}": ${operator} cannot compare with ${what}`, path, operator);
  };
  if (depth > 100) refuse('a value nested more than 100 levels');
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'bigint':
      return value;
    case 'number':
      if (Number.isNaN(value)) refuse('NaN (NaN equals nothing; use $exists or $ne)');
      return Object.is(value, -0) ? 0 : value;
    case 'undefined':
      return refuse('undefined (a field set to undefined counts as missing: use { $exists: false })');
    case 'object': {
      if (value === null) return null;
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) refuse('an invalid Date');
        return new Date(value.getTime());
      }
      if (Array.isArray(value)) return value.map((item) => toValue(item, path, operator, refOf, depth + 1));
      if (value instanceof QueryRef) return value;
      const ref = refOf(value);
      if (ref !== undefined) return new QueryRef(ref.type, ref.id);
      if (isPlainObject(value)) {
        const out: Record<string, QueryValue> = {};
        for (const key of Object.keys(value)) out[key] = toValue(value[key], path, operator, refOf, depth + 1);
        return out;
      }
      return refuse(`${describe(value)}; operands are JSON values, BigInts, Dates and stored objects`);
    }
    default:
      return refuse(describe(value));
  }
}

/** Every path a query reads (filter and sort), each once. */
export function pathsOf(query: Query): string[][] {
  const found = new Map<string, readonly string[]>();
  const walk = (node: QueryNode): void => {
    if (node.kind === 'field') found.set(node.path, node.segments);
    else if (node.kind === 'not') walk(node.negated);
    else node.nodes.forEach(walk);
  };
  walk(query.where);
  for (const key of query.sort) found.set(key.path, key.segments);
  return [...found.values()].map((segments) => [...segments]);
}
