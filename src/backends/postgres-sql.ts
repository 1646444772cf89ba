/**
 * The PostgreSQL backend's statements, written once per table, and the two things about its rows
 * that are not plain SQL: how content holding U+0000 is kept in a TEXT column, and how a batch is
 * cut into multi-row statements.
 * @module
 */

/** A schema, table or sequence name as the backend accepts it (unquoted it would fold case; always quoted). */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `"name"`, for an {@link IDENTIFIER} (so there is nothing to escape). */
export const quote = (name: string): string => `"${name}"`;

/** What the backend names in its schema for one table. */
export interface TableNames {
  readonly schema: string;
  readonly table: string;
}

/** The table, its meta table and its change sequence, quoted and schema-qualified. */
export function qualified({ schema, table }: TableNames) {
  return {
    objects: `${quote(schema)}.${quote(table)}`,
    meta: `${quote(schema)}.${quote(`${table}_meta`)}`,
    sequence: `${quote(schema)}.${quote(`${table}_changes`)}`,
  };
}

/** The NOTIFY channel of a table: every backend on it listens there. At most 63 bytes. */
export function channelOf({ schema, table }: TableNames): string {
  return `cuttle.${schema}.${table}`;
}

/**
 * The statements, by name (the name doubles as the prepared statement's name, prefixed with the
 * table, so several backends on one pool do not mix them up). Every statement that changes rows
 * returns `nextval` of the table's change sequence for each row it changed, and only for those
 * (RETURNING is evaluated per returned row): the sequence is what the change feed's poll compares
 * with what it heard, so a refused write must not move it.
 */
export function statements(names: TableNames) {
  const { objects, sequence } = qualified(names);
  const seq = `nextval('${sequence}')::float8 AS seq`;
  const set = `kind = excluded.kind, content = excluded.content`;
  return {
    load: `SELECT kind, content, version::float8, updated_at::float8 FROM ${objects} WHERE type = $1 AND id = $2`,
    loadVersion: `SELECT version::float8 FROM ${objects} WHERE type = $1 AND id = $2`,
    loadMany: `SELECT id, kind, content, version::float8, updated_at::float8 FROM ${objects} WHERE type = $1 AND id = ANY($2::text[])`,
    exists: `SELECT 1 FROM ${objects} WHERE type = $1 AND id = $2`,
    count: `SELECT count(*)::float8 FROM ${objects} WHERE type = $1`,
    list: `SELECT id FROM ${objects} WHERE type = $1 ORDER BY id`,
    // A skip-scan (PostgreSQL 15 has none of its own): one index probe per type, not a read of every key.
    listTypes: `WITH RECURSIVE t(type) AS (
        SELECT min(type) FROM ${objects}
        UNION ALL SELECT (SELECT min(type) FROM ${objects} WHERE type > t.type) FROM t WHERE t.type IS NOT NULL
      ) SELECT type FROM t WHERE type IS NOT NULL`,
    // The version is computed in the statement, so no other writer comes between read and write.
    write: `INSERT INTO ${objects} AS o (type, id, kind, content, version, created_at, updated_at)
        VALUES ($1, $2, $3, $4, 1, $5, $5)
      ON CONFLICT (type, id) DO UPDATE SET ${set}, version = o.version + 1, updated_at = excluded.updated_at
      RETURNING version::float8, ${seq}`,
    // expectedVersion 0: only if not stored. A row another transaction is inserting is waited for.
    create: `INSERT INTO ${objects} (type, id, kind, content, version, created_at, updated_at)
        VALUES ($1, $2, $3, $4, 1, $5, $5)
      ON CONFLICT (type, id) DO NOTHING
      RETURNING version::float8, ${seq}`,
    // expectedVersion n > 0: only if stored at version n (re-checked on the newest row when another
    // transaction updated it meanwhile).
    update: `UPDATE ${objects} SET kind = $3, content = $4, version = version + 1, updated_at = $5
      WHERE type = $1 AND id = $2 AND version = $6
      RETURNING version::float8, ${seq}`,
    put: `INSERT INTO ${objects} AS o (type, id, kind, content, version, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $6)
      ON CONFLICT (type, id) DO UPDATE SET ${set}, version = excluded.version, updated_at = excluded.updated_at
      RETURNING ${seq}`,
    delete: `DELETE FROM ${objects} WHERE type = $1 AND id = $2 RETURNING version::float8, ${seq}`,
    deleteChecked: `DELETE FROM ${objects} WHERE type = $1 AND id = $2 AND version = $3 RETURNING version::float8, ${seq}`,
    deleteMany: `DELETE FROM ${objects} WHERE type = $1 AND id = ANY($2::text[]) RETURNING id, version::float8, ${seq}`,
    // One sequence value for the whole clear, taken after the delete.
    clear: `WITH d AS (DELETE FROM ${objects} RETURNING 1) SELECT (SELECT count(*) FROM d)::float8 AS count, ${seq}`,
    // For a batch or an import: one value at its end, which its announcement carries.
    bump: `SELECT ${seq}`,
    records: `SELECT type, id, kind, content, version::float8, updated_at::float8 FROM ${objects} ORDER BY type, id`,
    lastChange: `SELECT CASE WHEN is_called THEN last_value ELSE 0 END::float8 FROM ${sequence}`,
  };
}

export type Statements = ReturnType<typeof statements>;

/**
 * The multi-row statements of a batch, for `count` rows: a VALUES list with one parameter per
 * value. Arrays and unnest() would take one parameter per column, but pg sends an array as one
 * text literal with every quote and backslash of the JSON escaped, which the server then parses
 * back: 1,000 rows of ~1 KB JSON wrote at 0.38x the VALUES form here. They take no change sequence
 * number per row: the batch takes one at its end (`bump`), which is all the feed's poll needs.
 */
export function batchStatements(names: TableNames) {
  const { objects } = qualified(names);
  const set = `kind = excluded.kind, content = excluded.content`;
  const rows = (count: number, width: number, row: (p: (k: number) => string, i: number) => string) =>
    Array.from({ length: count }, (_, i) => row((k) => `$${i * width + k}`, i)).join(', ');
  return {
    /** Parameters: type, id, kind, content per row, then the time. `returning`: what each row returns. */
    writeRows: (count: number, returning = 'type, id, version::float8') => `INSERT INTO ${objects} AS o (type, id, kind, content, version, created_at, updated_at)
        VALUES ${rows(count, 4, (p) => `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, 1, $${count * 4 + 1}::int8, $${count * 4 + 1}::int8)`)}
      ON CONFLICT (type, id) DO UPDATE SET ${set}, version = o.version + 1, updated_at = excluded.updated_at
      RETURNING ${returning}`,
    /** Parameters: type, id, kind, content, version, updatedAt per row. `returning`: what each row returns, if anything. */
    putRows: (count: number, returning?: string) => `INSERT INTO ${objects} AS o (type, id, kind, content, version, created_at, updated_at)
        VALUES ${rows(count, 6, (p) => `(${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}::int8, ${p(6)}::int8, ${p(6)}::int8)`)}
      ON CONFLICT (type, id) DO UPDATE SET ${set}, version = excluded.version, updated_at = excluded.updated_at${returning === undefined ? '' : ` RETURNING ${returning}`}`,
  };
}

/**
 * PostgreSQL's TEXT cannot hold U+0000, which content may (the contract: any string, returned as
 * given; JSON from the codec never has one raw, a record written to the backend directly may). Such
 * content is stored escaped: U+0001 first, then every U+0001 as U+0001 '1' and every U+0000 as
 * U+0001 '0'. Content that starts with U+0001 is escaped too, so every stored value reads back as
 * one string. JSON text never starts with U+0001, so what the codec writes is stored as it is.
 */
export function encodeContent(content: string): string {
  if (!content.includes('\u0000') && content.charCodeAt(0) !== 1) return content;
  return '\u0001' + content.replace(/[\u0000\u0001]/g, (c) => (c === '\u0000' ? '\u00010' : '\u00011'));
}

/** The inverse of {@link encodeContent}. */
export function decodeContent(stored: string): string {
  if (stored.charCodeAt(0) !== 1) return stored;
  return stored.slice(1).replace(/\u0001([01])/g, (_, c: string) => (c === '0' ? '\u0000' : '\u0001'));
}

/** Rows per multi-row statement; a chunk also ends past {@link CHUNK_CHARS} characters of content. */
export const CHUNK_ROWS = 1000;
export const CHUNK_CHARS = 4 << 20;

/**
 * Gathers rows for multi-row statements: at most {@link CHUNK_ROWS} rows and about
 * {@link CHUNK_CHARS} characters of content each, and a key never twice in one chunk (ON CONFLICT
 * DO UPDATE cannot change one row twice in a statement), so a batch that writes an object twice
 * writes it twice, in order.
 */
export class Chunker<T extends { readonly type: string; readonly id: string; readonly content: string }> {
  #rows: T[] = [];
  #keys = new Set<string>();
  #chars = 0;

  /** Whether `row` cannot join the rows gathered so far: {@link take} them first. */
  full(row: T): boolean {
    return this.#rows.length > 0 && (this.#rows.length >= CHUNK_ROWS || this.#chars >= CHUNK_CHARS || this.#keys.has(keyOf(row)));
  }

  add(row: T): void {
    this.#rows.push(row);
    this.#keys.add(keyOf(row));
    this.#chars += row.content.length;
  }

  /** The rows gathered so far, which are then forgotten. */
  take(): T[] {
    const rows = this.#rows;
    this.#rows = [];
    this.#keys = new Set();
    this.#chars = 0;
    return rows;
  }

  get size(): number {
    return this.#rows.length;
  }
}

const keyOf = (row: { readonly type: string; readonly id: string }): string => `${row.type}\u0000${row.id}`;
