/**
 * Compiles a checked {@link Query} to SQLite SQL over the `objects` table, `json_extract` on the
 * stored JSON, so that the rows it returns as matching are exactly those the reference evaluator
 * would match, in its order.
 *
 * A record's `content` is `{"json": <document>, "meta": ...}`; `meta.values` annotates, by dotted
 * path, each value JSON cannot express (a Date or BigInt stored as a string, undefined as null,
 * NaN, a Map as an array, a reference...). Where a path (or one above it) is annotated, the JSON
 * there is not the value, so such a record is not judged in SQL: it goes to the `unchecked` rows,
 * which the store decodes and checks with the evaluator. Everywhere else the document is plain
 * JSON, whose types SQLite tells apart with `json_type` (`integer`/`real`, `text`, `true`/`false`,
 * `null`, `array`, `object`), and compares as the evaluator does: numbers by value, strings by the
 * UTF-8 bytes (BINARY, code point order, as `compareIds`), the type order through a rank.
 *
 * What is compiled: paths of field names (`[A-Za-z_][A-Za-z0-9_]*` segments) and `id`; operands
 * that are strings (without U+0000), finite numbers, booleans and null. Anything else (an index
 * into an array such as `tags.0`, a Date, BigInt, reference, array or object operand) leaves the
 * whole query to the evaluator over the type's rows: slower, never different.
 * @module
 */
import { InvalidQueryError } from '../errors.js';
import type { Query, QueryNode, QueryValue, SortKey } from '../query/query.js';

/** The SQL of a compiled query: the rows matching for certain, and the rows left to the evaluator. */
export interface CompiledQuery {
  /** SELECT of matching rows, ordered, limited to skip + limit; or of their count. */
  readonly exact: string;
  readonly exactParams: readonly unknown[];
  /** SELECT of the rows SQL cannot judge (annotated at a path the query reads). */
  readonly unchecked: string;
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ROW = 'type, id, kind, content, version, updated_at';

/** The expression that reads the JSON at a path: also the key of the index on that path. */
export function jsonAt(segments: readonly string[]): string {
  return `json_extract(content, '$.json.${segments.join('.')}')`;
}

function typeAt(segments: readonly string[]): string {
  return `json_type(content, '$.json.${segments.join('.')}')`;
}

/** The expression of the annotation of a dotted path in superjson's meta, NULL where none. */
export function metaAt(segments: readonly string[]): string {
  return `json_extract(content, '$.meta.values."${segments.join('.')}"')`;
}

/** Whether a path can be compiled: `id`, or field names. */
export function isCompilablePath(segments: readonly string[]): boolean {
  return segments.every((segment) => FIELD.test(segment));
}

/** A type name as an SQL literal (type names have no quote: `[A-Za-z_][A-Za-z0-9_.-]*`). */
export function typeLiteral(type: string): string {
  return `'${type.replaceAll("'", "''")}'`;
}

/** The name of the index on (type, path). */
export function indexName(type: string, segments: readonly string[], what: 'json' | 'meta'): string {
  return `"cuttle_${what}_${type}_${segments.join('.')}"`;
}

/**
 * The statements that index `segments` of `type`: the JSON at the path (the very expression the
 * compiler emits) and its annotation (so that the rows SQL cannot judge are found without a scan),
 * both partial to the type, so saves of other types pay nothing.
 * @throws InvalidQueryError for a path the compiler does not compile.
 */
export function indexStatements(type: string, segments: readonly string[]): string[] {
  if (segments.length === 1 && segments[0] === 'id') return [];
  if (!isCompilablePath(segments)) {
    throw new InvalidQueryError(`cannot index "${segments.join('.')}" on SQLite: only paths of field names ([A-Za-z_][A-Za-z0-9_]*) are compiled to SQL`, segments.join('.'));
  }
  const where = `WHERE type = ${typeLiteral(type)}`;
  return [
    `CREATE INDEX IF NOT EXISTS ${indexName(type, segments, 'json')} ON objects (type, ${jsonAt(segments)}, id) ${where}`,
    // Only the rows annotated at the path: usually none, so finding them costs a seek.
    `CREATE INDEX IF NOT EXISTS ${indexName(type, segments, 'meta')} ON objects (type) ${where} AND ${metaAt(segments)} IS NOT NULL`,
  ];
}

class NotCompiled extends Error {}

/** Compiles `query` over the rows of `type`, or returns undefined when it must be left to the evaluator whole. */
export function compileQuery(type: string, query: Query, count: boolean): CompiledQuery | undefined {
  const params: unknown[] = [];
  const paths = new Map<string, { segments: readonly string[]; whole: boolean }>();
  let condition: string;
  let order: string;
  try {
    condition = compileNode(query.where, params, paths);
    order = query.sort.map((key) => sortTerms(key, paths)).join(', ');
  } catch (error) {
    if (error instanceof NotCompiled) return undefined;
    throw error;
  }
  // Where any path read is annotated (or, for $contains, anything in the record), SQL cannot judge.
  const annotated: string[] = [];
  for (const { segments, whole } of paths.values()) {
    if (whole) annotated.push(`json_type(content, '$.meta') IS NOT NULL`);
    else for (let i = 1; i <= segments.length; i++) annotated.push(`${metaAt(segments.slice(0, i))} IS NOT NULL`);
  }
  const unique = [...new Set(annotated)];
  const ofType = `type = ${typeLiteral(type)}`;
  const plain = unique.length === 0 ? '' : ` AND NOT (${unique.join(' OR ')})`;
  const where = `${ofType}${plain} AND (${condition})`;
  const limit = query.limit === undefined ? '' : ` LIMIT ${query.skip + query.limit}`;
  const exact = count
    ? `SELECT count(*) FROM objects WHERE ${where}`
    : `SELECT ${ROW} FROM objects WHERE ${where} ORDER BY ${order === '' ? '' : `${order}, `}id${limit}`;
  const unchecked = unique.length === 0 ? '' : `SELECT ${ROW} FROM objects WHERE ${ofType} AND (${unique.join(' OR ')})`;
  return { exact, exactParams: params, unchecked };
}

/** The SELECT of every row of `type`, for a query left to the evaluator whole. */
export function allRows(type: string): string {
  return `SELECT ${ROW} FROM objects WHERE type = ${typeLiteral(type)}`;
}

function note(paths: Map<string, { segments: readonly string[]; whole: boolean }>, segments: readonly string[], whole: boolean): void {
  if (segments.length === 1 && segments[0] === 'id') return;
  if (!isCompilablePath(segments)) throw new NotCompiled();
  const key = segments.join('.');
  paths.set(key, { segments, whole: whole || paths.get(key)?.whole === true });
}

function compileNode(node: QueryNode, params: unknown[], paths: Map<string, { segments: readonly string[]; whole: boolean }>): string {
  switch (node.kind) {
    case 'and':
      return node.nodes.length === 0 ? '1' : node.nodes.map((child) => `(${compileNode(child, params, paths)})`).join(' AND ');
    case 'or':
      return node.nodes.length === 0 ? '0' : node.nodes.map((child) => `(${compileNode(child, params, paths)})`).join(' OR ');
    case 'not':
      // A condition on a missing field is NULL in SQL, false for the evaluator: its negation is true.
      return `NOT coalesce((${compileNode(node.node, params, paths)}), 0)`;
    case 'field':
      note(paths, node.segments, node.op === 'contains');
      return node.segments.length === 1 && node.segments[0] === 'id' ? compileId(node, params) : compileField(node, params);
  }
}

type FieldNode = Extract<QueryNode, { kind: 'field' }>;

/** The kind of a compilable scalar operand, or throws NotCompiled. */
function scalarKind(value: QueryValue): 'text' | 'number' | 'boolean' | 'null' {
  if (value === null) return 'null';
  if (typeof value === 'string' && !value.includes('\u0000')) return 'text';
  if (typeof value === 'number' && Number.isFinite(value)) return 'number';
  if (typeof value === 'boolean') return 'boolean';
  throw new NotCompiled();
}

const TYPES = { text: `= 'text'`, number: `IN ('integer', 'real')`, boolean: `IN ('true', 'false')`, null: `= 'null'` };
const OPERATORS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** One comparison of the JSON value `value` (whose json_type is `type`) with a scalar operand. */
function compare(value: string, type: string, op: keyof typeof OPERATORS, operand: QueryValue, params: unknown[]): string {
  const kind = scalarKind(operand);
  if (kind === 'null') return op === 'eq' ? `${type} = 'null'` : '0';
  params.push(kind === 'boolean' ? Number(operand) : operand);
  return `${type} ${TYPES[kind]} AND ${value} ${OPERATORS[op]} ?`;
}

function compileField(node: FieldNode, params: unknown[]): string {
  const value = jsonAt(node.segments);
  const type = typeAt(node.segments);
  switch (node.op) {
    case 'eq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return compare(value, type, node.op, node.value, params);
    case 'in': {
      const items = node.value as readonly QueryValue[];
      return items.length === 0 ? '0' : items.map((item) => `(${compare(value, type, 'eq', item, params)})`).join(' OR ');
    }
    case 'exists':
      return node.value ? `${type} IS NOT NULL` : `${type} IS NULL`;
    case 'startsWith': {
      const prefix = node.value as string;
      if (prefix.includes('\u0000')) throw new NotCompiled();
      params.push([...prefix].length, prefix);
      return `${type} = 'text' AND substr(${value}, 1, ?) = ?`;
    }
    case 'contains': {
      const operand = node.value;
      const kind = scalarKind(operand);
      const element = kind === 'null' ? `j.type = 'null'` : `j.type ${TYPES[kind]} AND j.value = ?`;
      if (kind !== 'null') params.push(kind === 'boolean' ? Number(operand) : operand);
      const member = `${type} = 'array' AND EXISTS (SELECT 1 FROM json_each(content, '$.json.${node.segments.join('.')}') AS j WHERE ${element})`;
      if (kind !== 'text') return member;
      params.push(operand);
      return `(${member}) OR (${type} = 'text' AND instr(${value}, ?) > 0)`;
    }
  }
}

/** The id column: always a string. */
function compileId(node: FieldNode, params: unknown[]): string {
  const string = (value: QueryValue): boolean => {
    scalarKind(value);
    return typeof value === 'string';
  };
  switch (node.op) {
    case 'eq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      if (!string(node.value)) return '0';
      params.push(node.value);
      return `id ${OPERATORS[node.op]} ?`;
    case 'in': {
      const items = (node.value as readonly QueryValue[]).filter(string);
      params.push(...items);
      return items.length === 0 ? '0' : `id IN (${items.map(() => '?').join(', ')})`;
    }
    case 'exists':
      return node.value ? '1' : '0';
    case 'startsWith':
      params.push([...(node.value as string)].length, node.value);
      return `substr(id, 1, ?) = ?`;
    case 'contains':
      if (!string(node.value)) return '0';
      params.push(node.value);
      return `instr(id, ?) > 0`;
  }
}

/** ORDER BY terms of one sort key: the rank of the type order, then the value within the type. */
function sortTerms(key: SortKey, paths: Map<string, { segments: readonly string[]; whole: boolean }>): string {
  const direction = key.direction === 1 ? 'ASC' : 'DESC';
  if (key.segments.length === 1 && key.segments[0] === 'id') return `id ${direction}`;
  note(paths, key.segments, false);
  const type = typeAt(key.segments);
  // The evaluator's ranks: missing 0, null 1, boolean 2, number 3, string 5, array 8, object 9.
  const rank = `CASE ${type} WHEN 'null' THEN 1 WHEN 'true' THEN 2 WHEN 'false' THEN 2 WHEN 'integer' THEN 3 WHEN 'real' THEN 3 WHEN 'text' THEN 5 WHEN 'array' THEN 8 WHEN 'object' THEN 9 ELSE 0 END`;
  // Arrays and objects are equal within their rank: no value.
  const value = `CASE WHEN ${type} IN ('true', 'false', 'integer', 'real', 'text') THEN ${jsonAt(key.segments)} END`;
  return `${rank} ${direction}, ${value} ${direction}`;
}
