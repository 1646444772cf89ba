/**
 * PostgreSQL's side of the query compiler (sql-query.ts). Content is TEXT, kept byte for byte, so
 * each expression casts it to `json` (not `jsonb`, which would refuse `\u0000` and reorder keys);
 * strings compare under `COLLATE "C"` (code point order, as ids do). A row whose content holds
 * the escape `\u0000` (PostgreSQL's text cannot hold U+0000, so its json operators refuse it) or is
 * stored escaped (see encodeContent) is never read as JSON here: it goes to the rows the store's
 * evaluator checks. Expression indexes are on exactly the expressions compiled queries use.
 * @module
 */
import { InvalidQueryError } from '../errors.js';
import type { Query } from '../query/query.js';
import type { FindAnswer, RecordKind, StoredRecord } from './backend.js';
import { decodeContent, quote, type TableNames } from './postgres-sql.js';
import { allRowsSql, compileSql, sortTerms, typeLiteral, versionIndexes, type QuerySql, type ScalarKind, type SqlDialect } from './sql-query.js';
import { isCompilablePath } from './sql-shape.js';

/** Rows whose content SQL must not parse. */
const OPAQUE = `(strpos(content, '\\u0000') > 0 OR left(content, 1) = chr(1))`;
/** The content as json, NULL for an opaque row. */
const DOC = `(CASE WHEN NOT ${OPAQUE} THEN content::json END)`;
const at = (segments: readonly string[]) => `(${DOC} #> '{json,${segments.join(',')}}')`;
const textAt = (segments: readonly string[]) => `(${DOC} #>> '{json,${segments.join(',')}}')`;
const JSON_TYPES: Record<ScalarKind, string> = { text: 'string', number: 'number', boolean: 'boolean' };
const CASTS: Record<ScalarKind, string> = { text: '', number: '::float8', boolean: '::boolean' };

/** PostgreSQL's reading of cuttle's content in `table` (quoted, schema-qualified). */
export function postgresDialect(table: string): SqlDialect {
  return {
    scalar: (segments, kind) =>
      `(CASE WHEN json_typeof(${at(segments)}) = '${JSON_TYPES[kind]}' THEN ${textAt(segments)}${CASTS[kind]} END)${kind === 'text' ? ' COLLATE "C"' : ''}`,
    is: (segments, what) =>
      what === 'present' ? `${at(segments)} IS NOT NULL` : what === 'missing' ? `${at(segments)} IS NULL` : `json_typeof(${at(segments)}) = '${what}'`,
    metaAt: (segments) => `(${DOC} #> '{meta,values,"${segments.join('.')}"}')`,
    hasMeta: `(${DOC} -> 'meta') IS NOT NULL`,
    // Without the six bytes "meta" (or a \u escape, which could spell it), content has no annotation; escaped rows are opaque.
    mayBeAnnotated: `(strpos(content, '"meta"') > 0 OR strpos(content, '\\u') > 0 OR left(content, 1) = chr(1))`,
    // A stamp is `{"typeVersion":N,` (type-versions.ts); 0 when what follows is not a version.
    stamped: `(left(content, 15) = '{"typeVersion":')`,
    versionAt: `(CASE WHEN content ~ '^\{"typeVersion":[0-9]{1,15},' THEN split_part(substr(content, 16, 17), ',', 1)::bigint ELSE 0 END)`,
    opaque: OPAQUE,
    arrayHas: (segments, kind, param) => {
      const element = kind === 'null' ? `json_typeof(e.v) = 'null'` : `(CASE WHEN json_typeof(e.v) = '${JSON_TYPES[kind]}' THEN (e.v #>> '{}')${CASTS[kind]} END) = ${param}`;
      return `EXISTS (SELECT 1 FROM json_array_elements(CASE WHEN json_typeof(${at(segments)}) = 'array' THEN ${at(segments)} END) AS e(v) WHERE ${element})`;
    },
    startsWith: (value, param) => `starts_with(${value}, ${param('value')})`,
    includes: (value, param) => `strpos(${value}, ${param}) > 0`,
    param: (n) => `$${n}`,
    noLimit: 'ALL',
    bind: (value) => value,
    columns: 'type, id, kind, content, version::float8, updated_at::float8',
    count: 'count(*)::float8',
    table,
  };
}

/** FNV-1a, for index and trigger names within PostgreSQL's 63 bytes. */
export function nameHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The statements that index `segments` of `type` in the table `names`: the number, the string and
 * the boolean at the path, the rows annotated there, and the sort on the path in each
 * direction (its ORDER BY terms, then id ascending, the tie-break), so a sorted top-N reads N rows
 * in order instead of sorting every match; partial to the type. `last`: the qualified name of the
 * index the last statement makes (when it exists, so do the others).
 * @throws InvalidQueryError for a path the compiler does not compile.
 */
export function postgresIndexStatements(dialect: SqlDialect, names: TableNames, type: string, segments: readonly string[]): { statements: string[]; last: string } {
  const tableName = names.table;
  const key = nameHash(`${type}\u0000${segments.join('.')}`);
  const name = (what: string) => `"${`${tableName}`.slice(0, 40)}_q${what}_${key}"`;
  if (segments.length === 1 && segments[0] === 'id') return { statements: [], last: '' };
  if (!isCompilablePath(segments)) {
    throw new InvalidQueryError(`cannot index "${segments.join('.')}" on PostgreSQL: only paths of field names ([A-Za-z_][A-Za-z0-9_]*) are compiled to SQL`, segments.join('.'));
  }
  const where = `WHERE type = ${typeLiteral(type)}`;
  const statements = [
    `CREATE INDEX IF NOT EXISTS ${name('n')} ON ${dialect.table} (type, ${dialect.scalar(segments, 'number')}, id) ${where}`,
    `CREATE INDEX IF NOT EXISTS ${name('t')} ON ${dialect.table} (type, ${dialect.scalar(segments, 'text')}, id) ${where}`,
    `CREATE INDEX IF NOT EXISTS ${name('b')} ON ${dialect.table} (type, ${dialect.scalar(segments, 'boolean')}, id) ${where}`,
    `CREATE INDEX IF NOT EXISTS ${name('m')} ON ${dialect.table} (type) ${where} AND (${dialect.metaAt(segments)} IS NOT NULL OR ${OPAQUE})`,
    // The planner's statistics on the annotation at the path and at each path above it (almost
    // always missing): without them it estimated the rows left after "not annotated" at a few, and
    // sorted every match rather than read a sort index in order.
    ...segments.map((_, i) => {
      const above = segments.slice(0, i + 1);
      const statistics = `"${tableName.slice(0, 40)}_qx_${nameHash(`${type}\u0000${above.join('.')}`)}"`;
      return `CREATE STATISTICS IF NOT EXISTS ${quote(names.schema)}.${statistics} ON (${dialect.metaAt(above)}) FROM ${dialect.table}`;
    }),
    ...versionIndexes(dialect, type, (what) => `"${`${tableName}`.slice(0, 40)}_q${what === 'stamped' ? 's' : 'u'}_${nameHash(type)}"`),
    ...(['ASC', 'DESC'] as const).map((direction) => {
      const terms = sortTerms(dialect, segments).map((term) => `${term} ${direction}`);
      return `CREATE INDEX IF NOT EXISTS ${name(direction === 'ASC' ? 'a' : 'd')} ON ${dialect.table} (type, ${terms.join(', ')}, id) ${where}`;
    }),
  ];
  return { statements, last: `${quote(names.schema)}.${name('d')}` };
}

type Row = [string, string, RecordKind, string, number, number];
/** Runs one statement, rows as arrays. */
export type RunSql = (text: string, values: readonly unknown[]) => Promise<unknown[][]>;

const recordOf = ([type, id, kind, content, version, updatedAt]: Row): StoredRecord => ({ type, id, kind, content: decodeContent(content), version, updatedAt });

/** Runs `work`'s statements in one snapshot, through the `run` it is given. */
export type InSnapshot = <T>(work: (run: RunSql) => Promise<T>) => Promise<T>;

/**
 * See `StorageBackend.find`, on PostgreSQL. Where the query may leave rows to the evaluator, they
 * are read in one snapshot with the rest, so a record another server rewrites meanwhile is seen
 * once, as one of its versions: in the same statement, but for a query with `skip`, which reads
 * them first (`inSnapshot`), so that when there are none SQL skips too.
 */
export async function postgresFind(dialect: SqlDialect, run: RunSql, inSnapshot: InSnapshot, type: string, query: Query, count: boolean, typeVersion: number | undefined): Promise<FindAnswer> {
  // Without the class's type version, which records the store upgrades before judging is not known.
  const compiled = typeVersion === undefined ? undefined : compileSql(dialect, type, query, typeVersion, count);
  const recordsThrough = (through: RunSql) => async (text: string, values: readonly unknown[]) => ((await through(text, values)) as Row[]).map(recordOf);
  const records = recordsThrough(run);
  if (compiled === undefined) return { records: [], count: 0, unchecked: await records(allRowsSql(dialect, type), []), skipped: 0 };
  const { sql, params } = compiled;
  if (sql.unchecked === '') {
    if (count) return { records: [], count: (await run(sql.exact, params))[0]![0] as number, unchecked: [], skipped: 0 };
    const final = query.skip > 0 ? compileSql(dialect, type, query, typeVersion!, false, true)! : compiled;
    const found = await records(final.sql.exact, final.params);
    return { records: found, count: found.length, unchecked: [], skipped: query.skip };
  }
  if (count || query.skip === 0) {
    const rows = await run(withUnjudged(sql, count), params);
    // The first row ends with the unjudged rows as JSON text (NULL for none); a count is one row, the count first.
    const gathered = rows[0]![rows[0]!.length - 1] as string | null;
    const unchecked = gathered === null ? [] : (JSON.parse(gathered) as Row[]).map(recordOf);
    if (count) return { records: [], count: rows[0]![0] as number, unchecked, skipped: 0 };
    // No exact row: the one row has NULLs where its columns are.
    const found = rows[0]![1] === null ? [] : rows.map((row) => recordOf(row as Row));
    return { records: found, count: found.length, unchecked, skipped: 0 };
  }
  return inSnapshot(async (run) => {
    const records = recordsThrough(run);
    const unchecked = await records(sql.unchecked, []);
    // Nothing to merge in: SQL may skip too, so a page of findEach reads only its own rows.
    const skipping = unchecked.length === 0;
    const final = skipping ? compileSql(dialect, type, query, typeVersion!, false, true)! : compiled;
    const found = await records(final.sql.exact, final.params);
    return { records: found, count: found.length, unchecked, skipped: skipping ? query.skip : 0 };
  });
}

/**
 * `sql.exact` and `sql.unchecked` in one statement, the unjudged rows gathered into one JSON
 * text, the last column: for a count one row (the count, the rows); else the exact rows in their
 * order (or, when there is none, one row of NULLs), the first of them with the rows, the others
 * with NULL (sent once, however many rows match). The exact rows are the inner side of a join with
 * one row, so they keep their ORDER BY's order, which the numbering over the join's output follows.
 */
function withUnjudged(sql: QuerySql, count: boolean): string {
  let text = (count ? countsWith : rowsWith).get(sql);
  if (text === undefined) {
    const gathered = `(SELECT json_agg(json_build_array(type, id, kind, content, version, updated_at))::text FROM (${sql.unchecked}) AS u)`;
    text = count
      ? `SELECT (${sql.exact}), ${gathered}`
      : `SELECT e.*, CASE WHEN row_number() OVER () = 1 THEN g.unjudged END FROM (SELECT ${gathered} AS unjudged) AS g LEFT JOIN LATERAL (${sql.exact}) AS e ON true`;
    (count ? countsWith : rowsWith).set(sql, text);
  }
  return text;
}

/** {@link withUnjudged}'s statements, by the shape's SQL (one object per shape, see compileSql). */
const countsWith = new WeakMap<QuerySql, string>();
const rowsWith = new WeakMap<QuerySql, string>();
