/**
 * SQLite's side of the query compiler (sql-query.ts): how its JSON functions read cuttle's content
 * (`json_extract`, `json_type`, `json_each`; strings compare by UTF-8 bytes under BINARY, which is
 * code point order), and the expression indexes on exactly the expressions compiled queries use.
 * @module
 */
import { InvalidQueryError } from '../errors.js';
import type { Query } from '../query/query.js';
import { allRowsSql, compileSql, sortTerms, typeLiteral, versionIndexes, type CompiledQuery, type ScalarKind, type SqlDialect } from './sql-query.js';
import { isCompilablePath } from './sql-shape.js';

const path = (segments: readonly string[]) => `'$.json.${segments.join('.')}'`;
const typeAt = (segments: readonly string[]) => `json_type(content, ${path(segments)})`;
const JSON_TYPES: Record<ScalarKind, string> = { text: `= 'text'`, number: `IN ('integer', 'real')`, boolean: `IN ('true', 'false')` };

/** SQLite's reading of cuttle's content. */
export const SQLITE_DIALECT: SqlDialect = {
  scalar: (segments, kind) => `(CASE WHEN ${typeAt(segments)} ${JSON_TYPES[kind]} THEN json_extract(content, ${path(segments)}) END)`,
  is: (segments, what) =>
    what === 'present' ? `${typeAt(segments)} IS NOT NULL` : what === 'missing' ? `${typeAt(segments)} IS NULL` : `${typeAt(segments)} = '${what}'`,
  metaAt: (segments) => `json_extract(content, '$.meta.values."${segments.join('.')}"')`,
  hasMeta: `json_type(content, '$.meta') IS NOT NULL`,
  // Content is JSON text with the annotation under the key "meta": a row without those six bytes has
  // none, unless the key is spelled with \u escapes (JSON.stringify never does, but a dump may).
  mayBeAnnotated: `(instr(content, '"meta"') > 0 OR instr(content, '\\u') > 0)`,
  // A stamp is `{"typeVersion":N,` (type-versions.ts); CAST reads the digits before the comma, 0 when there are none.
  stamped: `(substr(content, 1, 15) = '{"typeVersion":')`,
  versionAt: `CAST(substr(content, 16, 16) AS INTEGER)`,
  arrayHas: (segments, kind, param) =>
    `${typeAt(segments)} = 'array' AND EXISTS (SELECT 1 FROM json_each(content, ${path(segments)}) AS j WHERE ` +
    (kind === 'null' ? `j.type = 'null')` : `j.type ${JSON_TYPES[kind]} AND j.value = ${param})`),
  startsWith: (value, param) => `substr(${value}, 1, ${param('length')}) = ${param('value')}`,
  includes: (value, param) => `instr(${value}, ${param}) > 0`,
  gatherRows: (columns) => `json_group_array(json_array(${columns}))`,
  gatherKeys: 'json_group_array(json_array(id, version))',
  param: () => '?',
  noLimit: '-1',
  bind: (value) => (typeof value === 'boolean' ? Number(value) : value),
  // Every query reads rows of one type, which the finder knows: each column read costs time per row.
  columns: 'id, kind, content, version, updated_at',
  count: 'count(*)',
  table: 'objects',
};

/** See {@link compileSql}, on SQLite. */
export function compileQuery(type: string, query: Query, typeVersion: number, count: boolean, skip = false): CompiledQuery | undefined {
  return compileSql(SQLITE_DIALECT, type, query, typeVersion, count, skip);
}

/** Every row of `type`. */
export function allRows(type: string): string {
  return allRowsSql(SQLITE_DIALECT, type);
}

/** The name of one index of (type, path). */
export function indexName(type: string, segments: readonly string[], what: 'number' | 'text' | 'meta' | 'asc' | 'desc'): string {
  return `"cuttle_${what}_${type}_${segments.join('.')}"`;
}



/**
 * The indexes that find the rows `compiled` leaves to the evaluator with seeks (the annotated-rows
 * index of each path and prefix it reads, the type's version indexes), or undefined when no index
 * can (an annotation anywhere counts).
 */
export function uncheckedIndexes(type: string, compiled: CompiledQuery): string[] | undefined {
  if (compiled.sql.anyAnnotation) return undefined;
  const names = compiled.sql.annotatedAt.map((segments) => indexName(type, segments, 'meta'));
  return [...names, ...(['unstamped', 'stamped'] as const).map((what) => versionIndexName(type, what))].map((name) => name.slice(1, -1));
}

const versionIndexName = (type: string, what: 'unstamped' | 'stamped') => `"cuttle_${what}_${type}"`;

/**
 * The statements that index `segments` of `type`: the number and the string at the path (the very
 * expressions the compiler emits), the rows annotated there or at a path above it (usually none, so finding the rows
 * left to the evaluator is a seek), and the sort on the path in each direction (its ORDER BY
 * terms, then id ascending, the tie-break), so a sorted top-N reads N rows in order instead of
 * sorting every match; and the type's indexes of its rows' type versions. All partial to the type, so saves of other types pay nothing.
 * @throws InvalidQueryError for a path the compiler does not compile.
 */
export function indexStatements(type: string, segments: readonly string[]): string[] {
  if (segments.length === 1 && segments[0] === 'id') return [];
  if (!isCompilablePath(segments)) {
    throw new InvalidQueryError(`cannot index "${segments.join('.')}" on SQLite: only paths of field names ([A-Za-z_][A-Za-z0-9_]*) are compiled to SQL`, segments.join('.'));
  }
  const where = `WHERE type = ${typeLiteral(type)}`;
  return [
    // With the version after the id, a query's keys (QuerySql.keys) are read from the index alone.
    `CREATE INDEX IF NOT EXISTS ${indexName(type, segments, 'number')} ON objects (type, ${SQLITE_DIALECT.scalar(segments, 'number')}, id, version) ${where}`,
    `CREATE INDEX IF NOT EXISTS ${indexName(type, segments, 'text')} ON objects (type, ${SQLITE_DIALECT.scalar(segments, 'text')}, id, version) ${where}`,
    // An annotation at a path above this one (a Map or Date at `owner` of `owner.name`) counts too.
    ...segments.map((_, i) => {
      const above = segments.slice(0, i + 1);
      return `CREATE INDEX IF NOT EXISTS ${indexName(type, above, 'meta')} ON objects (type) ${where} AND ${SQLITE_DIALECT.metaAt(above)} IS NOT NULL`;
    }),
    ...(['asc', 'desc'] as const).map((direction) => {
      const terms = sortTerms(SQLITE_DIALECT, segments).map((term) => `${term} ${direction.toUpperCase()}`);
      return `CREATE INDEX IF NOT EXISTS ${indexName(type, segments, direction)} ON objects (type, ${terms.join(', ')}, id) ${where}`;
    }),
    ...versionIndexes(SQLITE_DIALECT, type, (what) => versionIndexName(type, what)),
  ];
}
