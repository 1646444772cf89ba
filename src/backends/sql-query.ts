/**
 * Compiles a checked {@link Query} to SQL over an `objects` table holding cuttle's JSON content,
 * for a {@link SqlDialect} (SQLite's `json_extract`, PostgreSQL's `json` operators), so that the
 * rows it returns as matching are exactly those the reference evaluator would match, in its order.
 *
 * A record's `content` is `{"json": <document>, "meta": ...}`; `meta.values` annotates, by dotted
 * path, each value JSON cannot express (a Date or BigInt stored as a string, undefined as null,
 * NaN, a Map as an array, a reference...). Where a path (or one above it) is annotated, the JSON
 * there is not the value, so such a record is not judged in SQL: it goes to the `unchecked` rows,
 * which the store decodes and checks with the evaluator. Everywhere else the document is plain
 * JSON, whose types SQL tells apart (`json_type`, `json_typeof`) and compares as the evaluator
 * does: numbers by value, strings by code point (SQLite's BINARY, PostgreSQL's `COLLATE "C"`),
 * the type order through a rank.
 *
 * What is compiled: paths of field names (`[A-Za-z_][A-Za-z0-9_]*` segments) and `id`; operands
 * that are strings (without U+0000), finite numbers, booleans and null. Anything else (an index
 * into an array such as `tags.0`, a Date, BigInt, reference, array or object operand) leaves the
 * whole query to the evaluator over the type's rows: slower, never different.
 * @module
 */
import type { Query, QueryNode, QueryValue, SortKey } from '../query/query.js';
import { isCompilablePath, operandKind, operandsOf, shapeOf } from './sql-shape.js';

/** The kinds of plain JSON scalar a compiled operand may be. */
export type ScalarKind = 'text' | 'number' | 'boolean';

/** How one SQL engine reads cuttle's content. Expressions are SQL text over the row's `content`. */
export interface SqlDialect {
  /** The value at a path as `kind`, NULL when it is not a JSON value of that kind (or missing). */
  scalar(segments: readonly string[], kind: ScalarKind): string;
  /** Whether the JSON at a path is of a type: 'null', 'array', 'object', 'present' or 'missing'. */
  is(segments: readonly string[], what: 'null' | 'array' | 'object' | 'present' | 'missing'): string;
  /** superjson's annotation of a dotted path, NULL where none. */
  metaAt(segments: readonly string[]): string;
  /** Whether the record has any annotation at all. */
  hasMeta: string;
  /**
   * A test cheaper than {@link metaAt} that holds for every row with an annotation or {@link opaque}
   * (and may hold for others), if the dialect has one: a scan for the rows left to the evaluator
   * tests it before reading a row's annotations.
   */
  mayBeAnnotated?: string;
  /** Whether the row's content has a type version stamp (type-versions.ts): it was written at a version above 1. */
  stamped: string;
  /** The type version of a stamped row's content (0 when the stamp is not a version). */
  versionAt: string;
  /** Rows whose content SQL cannot read as JSON at all (they are left to the evaluator), if there can be such. */
  opaque?: string;
  /** Whether an element of the array at a path equals an operand of `kind` (given as the placeholder `param`), or is null. */
  arrayHas(segments: readonly string[], kind: ScalarKind | 'null', param: string): string;
  /**
   * Whether text `value` starts with the prefix operand; `param` makes a placeholder for the prefix
   * (`'value'`) or for its length in code points (`'length'`): call it in the order the placeholders appear.
   */
  startsWith(value: string, param: (form: 'value' | 'length') => string): string;
  /** Whether text `value` contains the text `param`. */
  includes(value: string, param: string): string;
  /**
   * An aggregate gathering the rows it sees into one JSON array of arrays of `columns`, if the
   * dialect has one: a count in one pass then returns one row, not every match (see {@link QuerySql.onePassCount}).
   */
  gatherRows?(columns: string): string;
  /**
   * An aggregate gathering the rows' ids and versions into one JSON array of `[id, version]`
   * pairs, in no promised order, if the dialect has one (see {@link QuerySql.keys}).
   */
  gatherKeys?: string;
  /** The `n`th parameter's placeholder (1-based). */
  param(n: number): string;
  /** What LIMIT says for no limit before an OFFSET (`-1` in SQLite, `ALL` in PostgreSQL). */
  noLimit: string;
  /** An operand as it is bound. */
  bind(value: string | number | boolean): unknown;
  /** The row's columns as the backend reads them. */
  columns: string;
  /** The count of rows, as a number the driver returns. */
  count: string;
  /** The table, quoted. */
  table: string;
}

/** A compiled query: the SQL of its shape and the parameters it binds. */
export interface CompiledQuery {
  /** The SQL, the same object for every query of this shape (see {@link compileSql}). */
  readonly sql: QuerySql;
  /** The parameters of every statement in `sql` but `unchecked` and `uncheckedScan` (which have none). */
  readonly params: readonly unknown[];
}

/** The SQL of a query shape: its statements and where they leave rows to the evaluator. */
export interface QuerySql {
  /** SELECT of the rows matching for certain, ordered, limited to skip + limit (or skipped, then limited); or of their count. */
  readonly exact: string;
  /**
   * `exact` without the clause that leaves out the rows annotated at the query's paths: the same
   * answer when `unchecked` finds no row in the same snapshot (the usual case), and cheaper, since
   * that clause reads every candidate row's content while the rest may be served by an index alone.
   * Equal to `exact` where the dialect has opaque rows (they must always be left out).
   */
  readonly plain: string;
  /** SELECT of the rows SQL cannot judge (annotated at a path the query reads), or '' when there is none to look for. */
  readonly unchecked: string;
  /**
   * The rows of `unchecked` in one scan of the type: faster where no index finds them (`unchecked`
   * has a branch per path, and each is a scan then), slower where indexes do. '' when `unchecked` is ''.
   */
  readonly uncheckedScan: string;
  /**
   * One SELECT of both, in the query's order and not limited: the rows SQL cannot judge and those
   * matching for certain, a last column `unjudged` telling them apart; '' when `unchecked` is ''.
   * A single pass over the type where no index finds the unjudged rows (else `unchecked` is a
   * seek and `exact` or `plain` reads only what it returns).
   */
  readonly onePass: string;
  /**
   * For a count, `onePass` as one row: the count of the rows matching for certain, and the rows
   * SQL cannot judge as a JSON array of arrays of the dialect's columns; '' when `onePass` is '',
   * or the dialect cannot gather rows.
   */
  readonly onePassCount: string;
  /**
   * For a count with `unchecked`: one SELECT of the `plain` count, or of NULL when some row is left
   * to the evaluator (then `unchecked` and `exact` must run); else ''.
   */
  readonly guarded: string;
  /**
   * For rows in an order by id alone (no sort, or a sort on `id`): the ids and versions of the rows
   * of `plain` (the same rows: its order picks them when it is limited) as one row holding a JSON
   * array of `[id, version]` pairs, in no promised order (the caller sorts them by id); else '' (a
   * count, a sort on a field, a dialect without {@link SqlDialect.gatherKeys}). Where an index on the
   * condition holds the versions too, it is read from that index alone, and a caller that holds
   * most of the records (a store's cache) reads only the others whole.
   */
  readonly keys: string;
  /** The paths, prefixes included, where an annotation leaves a row to the evaluator (each is found by that path's annotated-rows index, where there is one). */
  readonly annotatedAt: readonly (readonly string[])[];
  /** Whether any annotation in a row leaves it to the evaluator (`$contains` looks inside a value): no index finds those rows. */
  readonly anyAnnotation: boolean;
}

/** A type name as an SQL literal (type names have no quote: `[A-Za-z_][A-Za-z0-9_.-]*`; escaped anyway). */
export function typeLiteral(type: string): string {
  return `'${type.replaceAll("'", "''")}'`;
}

const isId = (segments: readonly string[]) => segments.length === 1 && segments[0] === 'id';

class NotCompiled extends Error {}

/** The paths a query reads; `whole`: the condition looks inside the value ($contains), so any annotation in the record counts. */
type Paths = Map<string, { segments: readonly string[]; whole: boolean }>;

/**
 * Compiles `query` over the rows of `type`, or returns undefined when it must be left to the
 * evaluator whole. `typeVersion`: the querying class's type version; when the query reads a path,
 * rows written at another version are left to the evaluator too, since the store upgrades them
 * before it judges them (their stored JSON may not have the class's fields). `skip`: the exact
 * rows skip `query.skip` in SQL (OFFSET), which is right only when no row is left to the
 * evaluator (else the store must merge them in before it skips).
 *
 * The SQL of each query shape (sql-shape.ts) is compiled once per dialect and kept: a query of a
 * shape seen before costs only its shape and its parameters, and its SQL strings are the very
 * objects of the first, which keeps the lookups of prepared statements by SQL text cheap.
 */
export function compileSql(dialect: SqlDialect, type: string, query: Query, typeVersion: number, count: boolean, skip = false): CompiledQuery | undefined {
  if (!Number.isSafeInteger(typeVersion) || typeVersion < 1) throw new TypeError(`compileSql: typeVersion must be a positive integer, got ${typeVersion}`);
  const shape = shapeOf(query);
  if (shape === undefined) return undefined;
  let templates = compiledShapes.get(dialect);
  if (templates === undefined) compiledShapes.set(dialect, (templates = new Map()));
  const key = `${type}\u0000${typeVersion}\u0000${count ? 'count' : 'rows'}\u0000${skip ? 'offset' : ''}\u0000${shape.key}`;
  let template = templates.get(key);
  if (template === undefined) {
    template = compileShape(dialect, type, query, typeVersion, count, skip) ?? null;
    if (templates.size >= KEPT_SHAPES) templates.clear();
    templates.set(key, template);
  }
  if (template === null) return undefined;
  const { operands } = shape;
  const params: unknown[] = [];
  for (const { operand, form } of template.slots) {
    const value = operands[operand] as string | number | boolean;
    params.push(dialect.bind(form === 'length' ? [...(value as string)].length : value));
  }
  return { sql: template.sql, params };
}

/** The shapes compiled, per dialect (null: not compiled), cleared when they reach {@link KEPT_SHAPES}. */
const compiledShapes = new WeakMap<SqlDialect, Map<string, Template | null>>();
const KEPT_SHAPES = 500;

/** Which operand (by its index in the shape's list) a parameter binds, and as what. */
interface Slot {
  readonly operand: number;
  readonly form: 'value' | 'length';
}

/** A query shape's compiled SQL and how its parameters are bound. */
interface Template {
  readonly sql: QuerySql;
  readonly slots: readonly Slot[];
}

/** Compiles the shape of `query` (see {@link compileSql}). */
function compileShape(dialect: SqlDialect, type: string, query: Query, typeVersion: number, count: boolean, skip: boolean): Template | undefined {
  const compiler = new Compiler(dialect);
  let condition: string;
  let order: string;
  try {
    condition = compiler.node(query.where);
    order = query.sort.map((key) => compiler.sort(key)).join(', ');
  } catch (error) {
    if (error instanceof NotCompiled) return undefined;
    throw error;
  }
  const annotated: string[] = [];
  const annotatedAt = new Map<string, readonly string[]>();
  let anyAnnotation = false;
  for (const { segments, whole } of compiler.paths.values()) {
    if (whole) {
      annotated.push(dialect.hasMeta);
      anyAnnotation = true;
    } else {
      for (let i = 1; i <= segments.length; i++) {
        annotated.push(`${dialect.metaAt(segments.slice(0, i))} IS NOT NULL`);
        annotatedAt.set(segments.slice(0, i).join('.'), segments.slice(0, i));
      }
    }
  }
  const versions = compiler.paths.size > 0 ? otherVersion(dialect, typeVersion) : [];
  const annotations = [...new Set(annotated)];
  // The other versions' terms, and the opaque rows', if there can be such.
  const others = dialect.opaque === undefined ? versions : [...versions, dialect.opaque];
  const unique = [...annotations, ...others];
  const ofType = `type = ${typeLiteral(type)}`;
  const limit = skip
    ? ` LIMIT ${query.limit ?? dialect.noLimit} OFFSET ${query.skip}`
    : query.limit === undefined
      ? ''
      : ` LIMIT ${query.skip + query.limit}`;
  const orderBy = `${order === '' ? '' : `${order}, `}id`;
  const select = (where: string, columns = dialect.columns) =>
    count
      ? `SELECT ${dialect.count} FROM ${dialect.table} WHERE ${where}`
      : `SELECT ${columns} FROM ${dialect.table} WHERE ${where} ORDER BY ${orderBy}${limit}`;
  const unjudged = `(${unique.join(' OR ')})`;
  const exactWhere = unique.length === 0 ? `${ofType} AND (${condition})` : `${ofType} AND NOT ${unjudged} AND (${condition})`;
  const plainWhere = dialect.opaque === undefined ? `${ofType} AND (${condition})` : exactWhere;
  const exact = select(exactWhere);
  const plain = select(plainWhere);
  // No ORDER BY in the aggregate, which would sort again rows that come sorted: the caller checks their id order, and sorts if need be.
  const keys =
    count || dialect.gatherKeys === undefined || !query.sort.every((key) => isId(key.segments))
      ? ''
      : `SELECT ${dialect.gatherKeys} FROM (${select(plainWhere, 'id, version')})`;
  const branches = uncheckedBranches(dialect, ofType, annotations, versions);
  const unchecked = uncheckedSql(dialect, ofType, branches);
  const matchingOrUnjudged = `SELECT ${dialect.columns}, ${unjudged} AS unjudged FROM ${dialect.table} WHERE ${ofType} AND (${unjudged} OR (${condition}))`;
  const onePass =
    unchecked === ''
      ? ''
      : `${matchingOrUnjudged} ORDER BY ${orderBy}`;
  const onePassCount =
    count && unchecked !== '' && dialect.gatherRows !== undefined
      ? `SELECT count(*) FILTER (WHERE NOT unjudged), ${dialect.gatherRows(dialect.columns)} FILTER (WHERE unjudged) FROM (${matchingOrUnjudged})`
      : '';
  // A scan for the unjudged rows alone reads the annotations only of rows that may have one, where
  // the dialect can tell cheaply (elsewhere the query's condition reads each row's JSON anyway).
  const { mayBeAnnotated } = dialect;
  const scanned = mayBeAnnotated === undefined || annotations.length === 0 ? unjudged : `(${[`(${mayBeAnnotated} AND (${annotations.join(' OR ')}))`, ...others].join(' OR ')})`;
  const uncheckedScan = unchecked === '' ? '' : `SELECT ${dialect.columns} FROM ${dialect.table} WHERE ${ofType} AND ${scanned}`;
  // One EXISTS per branch: each stops at its index's first row, where EXISTS of `unchecked` would gather every branch's ids first.
  const anyUnjudged = branches.map((branch) => `EXISTS (SELECT 1 FROM ${dialect.table} WHERE ${branch})`).join(' OR ');
  const guarded = count && unchecked !== '' ? `SELECT CASE WHEN ${anyUnjudged} THEN NULL ELSE (${plain}) END` : '';
  return { sql: { exact, plain, unchecked, uncheckedScan, onePass, onePassCount, guarded, keys, annotatedAt: [...annotatedAt.values()], anyAnnotation }, slots: compiler.slots };
}

/**
 * The conditions, each with the type's, one of which holds for a row SQL cannot judge: one per
 * path the query reads (`annotated`, the path's annotation; with the opaque rows where the dialect
 * has them, which that index holds too) and one per version index (`versions`). Each has exactly
 * the condition of one partial index, so where the path is indexed finding such rows is a seek in
 * a small index (usually an empty one). No path read: only the opaque rows, if there can be such.
 */
function uncheckedBranches(dialect: SqlDialect, ofType: string, annotated: readonly string[], versions: readonly string[]): string[] {
  const { opaque, mayBeAnnotated } = dialect;
  const withOpaque = (term: string) => (opaque === undefined ? term : `(${term} OR ${opaque})`);
  // The cheap test first, then the term the path's index is partial to (a scan, where there is no index, reads few rows' JSON).
  const tested = (term: string) => (mayBeAnnotated === undefined ? term : `${mayBeAnnotated} AND ${term}`);
  const branches = [...annotated.map((term) => tested(withOpaque(term))), ...versions];
  if (branches.length === 0) return opaque === undefined ? [] : [`${ofType} AND ${opaque}`];
  return branches.map((branch) => `${ofType} AND ${branch}`);
}

/**
 * The SELECT of the rows matching one of `branches` ({@link uncheckedBranches}), or '' for none.
 * With several, their ids are joined by UNION ALL inside an `id IN (...)` (which drops repeats),
 * so each branch is served by its own index. (SQLite planned the plain OR of the conditions as a
 * scan of the whole type.)
 */
function uncheckedSql(dialect: SqlDialect, ofType: string, branches: readonly string[]): string {
  const { columns, table } = dialect;
  if (branches.length === 0) return '';
  if (branches.length === 1) return `SELECT ${columns} FROM ${table} WHERE ${branches[0]!}`;
  const ids = branches.map((branch) => `SELECT id FROM ${table} WHERE ${branch}`).join(' UNION ALL ');
  return `SELECT ${columns} FROM ${table} WHERE ${ofType} AND id IN (${ids})`;
}

/**
 * The conditions, one of which holds for a row written at a type version other than
 * `typeVersion`: each with exactly the condition of one of the type's version indexes
 * ({@link versionIndexes}), so finding such rows is a seek in a small index (usually an empty one).
 */
function otherVersion(dialect: SqlDialect, typeVersion: number): string[] {
  const { stamped, versionAt } = dialect;
  if (typeVersion === 1) return [stamped];
  return [`NOT ${stamped}`, `${stamped} AND ${versionAt} < ${typeVersion}`, `${stamped} AND ${versionAt} > ${typeVersion}`];
}

/**
 * The indexes that find a type's rows of other type versions: its unstamped rows (version 1) and
 * its stamped rows by version, partial to the type and to each kind of row.
 * @param name the name of an index, from what it holds (`unstamped` or `stamped`).
 */
export function versionIndexes(dialect: SqlDialect, type: string, name: (what: 'unstamped' | 'stamped') => string): string[] {
  const ofType = `type = ${typeLiteral(type)}`;
  return [
    `CREATE INDEX IF NOT EXISTS ${name('unstamped')} ON ${dialect.table} (type) WHERE ${ofType} AND NOT ${dialect.stamped}`,
    `CREATE INDEX IF NOT EXISTS ${name('stamped')} ON ${dialect.table} (type, ${dialect.versionAt}) WHERE ${ofType} AND ${dialect.stamped}`,
  ];
}

/** The SELECT of every row of `type`, for a query left to the evaluator whole. */
export function allRowsSql(dialect: SqlDialect, type: string): string {
  return `SELECT ${dialect.columns} FROM ${dialect.table} WHERE type = ${typeLiteral(type)}`;
}

type FieldNode = Extract<QueryNode, { kind: 'field' }>;
const OPERATORS = { eq: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

/** The kind of a compilable operand, or throws NotCompiled (sql-shape.ts `operandKind` tells them apart). */
function kindOf(value: QueryValue): ScalarKind | 'null' {
  const kind = operandKind(value);
  if (kind === 'other') throw new NotCompiled();
  return kind;
}

/**
 * Compiles one query shape. Parameters bind operands by their index in the shape's list
 * (sql-shape.ts `shapeOf`), which numbers them in the same order: the field conditions in
 * pre-order, each taking `operandsOf` it.
 */
class Compiler {
  readonly slots: Slot[] = [];
  readonly paths: Paths = new Map();
  readonly #dialect: SqlDialect;
  /** The index of the next field condition's first operand. */
  #next = 0;

  constructor(dialect: SqlDialect) {
    this.#dialect = dialect;
  }

  /** A placeholder for operand `operand` (as a `length` of text: its code points). */
  #bind(operand: number, form: Slot['form'] = 'value'): string {
    this.slots.push({ operand, form });
    return this.#dialect.param(this.slots.length);
  }

  #note(segments: readonly string[], whole: boolean): void {
    if (!isCompilablePath(segments)) throw new NotCompiled();
    const key = segments.join('.');
    this.paths.set(key, { segments, whole: whole || this.paths.get(key)?.whole === true });
  }

  node(node: QueryNode): string {
    switch (node.kind) {
      case 'and':
        return node.nodes.length === 0 ? '1 = 1' : node.nodes.map((child) => `(${this.node(child)})`).join(' AND ');
      case 'or':
        return node.nodes.length === 0 ? '1 = 0' : node.nodes.map((child) => `(${this.node(child)})`).join(' OR ');
      case 'not':
        // A condition on a missing field is NULL in SQL, false for the evaluator: its negation is true.
        return `NOT coalesce((${this.node(node.negated)}), 1 = 0)`;
      case 'field': {
        const first = this.#next;
        this.#next += operandsOf(node).length;
        if (isId(node.segments)) return this.#id(node, first);
        this.#note(node.segments, node.op === 'contains');
        return this.#field(node, first);
      }
    }
  }

  /** `operand` is the value of operand number `index`. */
  #compare(segments: readonly string[], op: keyof typeof OPERATORS, operand: QueryValue, index: number): string {
    const kind = kindOf(operand);
    if (kind === 'null') return op === 'eq' ? this.#dialect.is(segments, 'null') : '1 = 0';
    return `${this.#dialect.scalar(segments, kind)} ${OPERATORS[op]} ${this.#bind(index)}`;
  }

  /** A field condition whose operands are numbered from `first`. */
  #field(node: FieldNode, first: number): string {
    const { segments } = node;
    const dialect = this.#dialect;
    switch (node.op) {
      case 'eq':
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        return this.#compare(segments, node.op, node.value, first);
      case 'in': {
        const items = node.value as readonly QueryValue[];
        return items.length === 0 ? '1 = 0' : items.map((item, i) => `(${this.#compare(segments, 'eq', item, first + i)})`).join(' OR ');
      }
      case 'exists':
        return dialect.is(segments, node.value ? 'present' : 'missing');
      case 'startsWith': {
        const prefix = node.value as string;
        if (prefix.includes('\u0000')) throw new NotCompiled();
        return dialect.startsWith(dialect.scalar(segments, 'text'), (form) => this.#bind(first, form));
      }
      case 'contains': {
        const kind = kindOf(node.value);
        const param = kind === 'null' ? '' : this.#bind(first);
        const member = dialect.arrayHas(segments, kind, param);
        if (kind !== 'text') return member;
        return `(${member}) OR (${dialect.includes(dialect.scalar(segments, 'text'), this.#bind(first))})`;
      }
    }
  }

  /** The id column: always a string. Its operands are numbered from `first`. */
  #id(node: FieldNode, first: number): string {
    const isText = (value: QueryValue): value is string => kindOf(value) === 'text';
    switch (node.op) {
      case 'eq':
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        return isText(node.value) ? `id ${OPERATORS[node.op]} ${this.#bind(first)}` : '1 = 0';
      case 'in': {
        const texts = (node.value as readonly QueryValue[]).flatMap((item, i) => (isText(item) ? [first + i] : []));
        return texts.length === 0 ? '1 = 0' : `id IN (${texts.map((index) => this.#bind(index)).join(', ')})`;
      }
      case 'exists':
        return node.value ? '1 = 1' : '1 = 0';
      case 'startsWith': {
        const prefix = node.value as string;
        if (prefix.includes('\u0000')) throw new NotCompiled();
        return this.#dialect.startsWith('id', (form) => this.#bind(first, form));
      }
      case 'contains':
        return isText(node.value) ? this.#dialect.includes('id', this.#bind(first)) : '1 = 0';
    }
  }

  /** ORDER BY terms of one key: the rank of the type order, then the value within each type (NULL for others). */
  sort(key: SortKey): string {
    const direction = key.direction === 1 ? 'ASC' : 'DESC';
    if (isId(key.segments)) return `id ${direction}`;
    this.#note(key.segments, false);
    return sortTerms(this.#dialect, key.segments)
      .map((term) => `${term} ${direction}`)
      .join(', ');
  }
}

/**
 * The ORDER BY expressions of a sort on `segments`, without their direction: the rank of the type
 * order (the evaluator's: missing 0, null 1, boolean 2, number 3, string 5, array 8, object 9),
 * then the value within each type (one of them set, the others NULL; arrays and objects have none,
 * so they tie). A sort index is on exactly these, so it serves the sort.
 */
export function sortTerms(dialect: SqlDialect, segments: readonly string[]): string[] {
  const rank =
    `(CASE WHEN ${dialect.is(segments, 'null')} THEN 1 WHEN ${dialect.scalar(segments, 'boolean')} IS NOT NULL THEN 2 ` +
    `WHEN ${dialect.scalar(segments, 'number')} IS NOT NULL THEN 3 WHEN ${dialect.scalar(segments, 'text')} IS NOT NULL THEN 5 ` +
    `WHEN ${dialect.is(segments, 'array')} THEN 8 WHEN ${dialect.is(segments, 'object')} THEN 9 ELSE 0 END)`;
  return [rank, ...(['boolean', 'number', 'text'] as const).map((kind) => dialect.scalar(segments, kind))];
}
