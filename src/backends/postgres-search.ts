/**
 * Full-text search indexes on PostgreSQL, answering exactly what the store's scan answers
 * (src/query/search.ts). PostgreSQL's parsers do not tokenize as search.ts does, and a trigger
 * cannot run the JavaScript tokenizer, so the backend tokenizes in JavaScript when it writes an
 * object of a searchable type and writes the tokens in the same statement as the object. The
 * database only finds and counts; the store still ranks.
 *
 * Beside the objects table `T`, made on the first `createSearchIndex` (no schema version change):
 * - `T_search_types` (type, fields, type_version): the searchable types, as on SQLite.
 * - `T_search` (type, id, hash, body, len, tsv): one row per object of a searchable type, keyed
 *   like the objects: `hash` is md5 of the object's stored content when the row was judged, `body`
 *   its tokens (search-text.ts), `len` their count, `tsv` the distinct tokens as lexemes
 *   (`array_to_tsvector`, which takes them as given), with a GIN index per type on `tsv`.
 * - `T_search_stats` (type, documents, length): the judged rows' count and token total, as rows
 *   of changes that a statement-level trigger on `T_search` adds in the changing transaction (a
 *   single counter row would make every writer of the type wait for the one before), summed by a
 *   search and added up into one row now and then.
 * - Triggers on `T`, one set per searchable type (`WHEN (NEW.type = '...')`, so other types' writes
 *   do not even call them), and the function they call. They do not tokenize: whoever writes the
 *   object (another process, an older cuttle that knows nothing of the index, psql), a row whose
 *   `hash` is not md5 of the new content is emptied (body NULL: unjudged), a new object gets an empty
 *   row, a deleted one loses its row. This backend's own writes have put the row at the new content
 *   in the same statement, so the trigger finds the hashes equal and leaves it.
 *
 * So every object of a searchable type has exactly one row, and a row with a body is the object's
 * current content: statistics are over those rows; the rows without a body ("unjudged": written by
 * someone else, or a document whose strings cannot be told without its class, see
 * `searchableDocument` in codec.ts) go to the store whole, which tokenizes them.
 * @module
 */
import type { PoolClient } from 'pg';
import type { SearchTerm } from '../query/search.js';
import type { RecordKind, SearchAnswer, StoredRecord } from './backend.js';
import { fieldsKey, searchText, textTokens } from './search-text.js';
import { decodeContent, qualified, quote, type TableNames } from './postgres-sql.js';
import { nameHash } from './postgres-query.js';
import { typeLiteral } from './sql-query.js';

/** A searchable type as the registry holds it. */
export interface SearchEntry {
  readonly fields: readonly (readonly string[])[];
  /** {@link fieldsKey} of the fields. */
  readonly key: string;
  readonly version: number;
}

/** Longest lexeme PostgreSQL takes in a tsvector (bytes), and about the most lexeme text one holds. */
const MAX_LEXEME = 2047;
const MAX_LEXEMES = 1_000_000;
/** Rows of statistics a search sums before it adds them up into one. */
const COMPACT_AT = 1000;
/** Rows judged per transaction while an index is built (their objects locked meanwhile). */
const FILL_CHUNK = 2000;

/** The search tables of a table, quoted and schema-qualified, and whether their names fit PostgreSQL's 63 bytes. */
export function searchTables({ schema, table }: TableNames) {
  const name = (suffix: string) => `${quote(schema)}.${quote(`${table}${suffix}`)}`;
  return {
    side: name('_search'),
    types: name('_search_types'),
    stats: name('_search_stats'),
    mark: name('_search_mark'),
    count: name('_search_count'),
    fits: Buffer.byteLength(`${table}_search_types`) <= 63,
  };
}

/** The tsvector of a body (SQL over the text expression `body`): its tokens as lexemes, separators left out. */
const tsvOf = (body: string) => `array_to_tsvector(array_remove(array_remove(string_to_array(${body}, ' '), '§'), ''))`;

/**
 * `base` (a write of one object whose parameters are $1 type, $2 id, $4 content, `count` in all,
 * returning some columns) with the object's search row written in the same statement: parameters
 * `count + 1..4` are the body, its length, the fields key and the type version the body was made
 * for. The row is written only if the registry still says those (a type rebuilt for other fields
 * or another version meanwhile gets an empty row from the trigger instead). Returns base's columns,
 * then 1 when the row was written, 0 when not.
 */
function withSide(names: TableNames, base: string, count: number): string {
  const { side, types } = searchTables(names);
  const p = (k: number) => `$${count + k}`;
  return `WITH o AS (${base}),
    s AS (INSERT INTO ${side} AS s (type, id, hash, body, len, tsv)
        SELECT $1, $2, md5($4), ${p(1)}::text, ${p(2)}::int4, ${tsvOf(`${p(1)}::text`)} FROM o
        WHERE EXISTS (SELECT 1 FROM ${types} r WHERE r.type = $1 AND r.fields = ${p(3)}::text AND r.type_version = ${p(4)}::int4)
      ON CONFLICT (type, id) DO UPDATE SET hash = excluded.hash, body = excluded.body, len = excluded.len, tsv = excluded.tsv
      RETURNING 1)
    SELECT o.*, (SELECT count(*) FROM s)::float8 AS judged FROM o`;
}

/**
 * The search variants of the one-object writes (`statements` and `transactionStatements`): the
 * same statement and parameters, then the four of {@link withSide}.
 */
export function searchVariants<K extends string>(names: TableNames, base: Record<K, string>, counts: Record<K, number>): Record<`${K}Search`, string> {
  return Object.fromEntries(Object.entries<string>(base).map(([key, text]) => [`${key}Search`, withSide(names, text, counts[key as K])])) as Record<`${K}Search`, string>;
}

/**
 * A multi-row write `base` (returning `type, id, version, hash` or `type, id, hash` per row as
 * `returning` asked) with the search rows of its searchable objects: after its `count` parameters,
 * six arrays (type, id, body, len, fields key, type version), one element per searchable row.
 * Returns base's rows without the hash, each with the number of search rows written.
 */
export function batchWithSide(names: TableNames, base: string, count: number, columns: string): string {
  const { side, types } = searchTables(names);
  const p = (k: number) => `$${count + k}`;
  return `WITH o AS (${base}),
    s AS (INSERT INTO ${side} AS s (type, id, hash, body, len, tsv)
        SELECT o.type, o.id, o.hash, v.body, v.len, ${tsvOf('v.body')}
        FROM o JOIN unnest(${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::int4[], ${p(5)}::text[], ${p(6)}::int4[]) AS v(type, id, body, len, fields, version)
          ON v.type = o.type AND v.id = o.id
        WHERE EXISTS (SELECT 1 FROM ${types} r WHERE r.type = v.type AND r.fields = v.fields AND r.type_version = v.version)
      ON CONFLICT (type, id) DO UPDATE SET hash = excluded.hash, body = excluded.body, len = excluded.len, tsv = excluded.tsv
      RETURNING 1)
    SELECT ${columns}, (SELECT count(*) FROM s)::float8 AS judged FROM o`;
}

/** What is written for a document: its body and length (both null when it is unjudged). */
function judge(id: string, content: string, entry: SearchEntry): [body: string | null, len: number | null] {
  const body = searchText(id, content, entry.fields, entry.version);
  if (body === null) return [null, null];
  const tokens = textTokens(body);
  let bytes = 0;
  for (const token of new Set(tokens)) {
    const size = Buffer.byteLength(token);
    // Beyond what a tsvector holds: left to the store, as a document the index cannot read.
    if (size > MAX_LEXEME) return [null, null];
    bytes += size;
  }
  if (bytes > MAX_LEXEMES) return [null, null];
  return [body, tokens.length];
}

/** A term as tsquery text: quoted lexemes (nothing in them read as syntax), `:*` for a prefix, a phrase's words all required. */
function tsTerm(term: SearchTerm): string {
  const lexeme = (token: string) => `'${token.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
  if (term.kind === 'phrase') return term.tokens.map(lexeme).join(' & ');
  return term.kind === 'prefix' ? `${lexeme(term.token)}:*` : lexeme(term.token);
}

/** A phrase's exact test on a row's body: its tokens in a row, as `measureText` finds them. */
const phraseNeedle = (term: SearchTerm & { kind: 'phrase' }) => ` ${term.tokens.join(' ')} `;

/**
 * The search indexes of one backend table: the registry as this backend last read it (which
 * types' writes carry their tokens), index builds, and searches.
 */
export class PostgresSearch {
  readonly #names: TableNames;
  readonly #tables: ReturnType<typeof searchTables>;
  readonly #entries = new Map<string, SearchEntry>();

  constructor(names: TableNames) {
    this.#names = names;
    this.#tables = searchTables(names);
  }

  /** Whether the table's name leaves room for the search tables' names (else the store scans). */
  get usable(): boolean {
    return this.#tables.fits;
  }

  /**
   * The four extra parameters of a write of (type, id, content) with its search row (see
   * `withSide`), or undefined when `type` is not searchable as far as this backend knows.
   */
  values(type: string, id: string, content: string): unknown[] | undefined {
    const entry = this.#entries.get(type);
    if (entry === undefined) return undefined;
    return [...judge(id, content, entry), entry.key, entry.version];
  }

  /** Forgets `type` (a write found the registry changed): its writes carry no tokens until the registry is read again. */
  forget(type: string): void {
    this.#entries.delete(type);
  }

  /** Reads the registry (once the objects table exists), so that writes of searchable types carry their tokens from the first one. */
  async load(client: PoolClient): Promise<void> {
    if (!this.usable) return;
    const { rows } = await client.query({ text: `SELECT to_regclass($1) IS NOT NULL`, values: [this.#tables.types], rowMode: 'array' });
    if (rows[0]![0] !== true) return;
    const registry = await client.query({ text: `SELECT type, fields, type_version FROM ${this.#tables.types}`, rowMode: 'array' });
    for (const [type, key, version] of registry.rows as Array<[string, string, number]>) this.#entries.set(type, entryOf(key, version));
  }

  /**
   * Makes (or keeps, when the registry has these fields and type version) the index of `type`:
   * tables, triggers and the type's GIN index, then a row for every stored object, judged in
   * chunks (rows already made stay). Rows left unjudged by other writers are judged again too.
   */
  async create(client: PoolClient, type: string, fields: readonly (readonly string[])[], version: number): Promise<void> {
    const entry: SearchEntry = { fields, key: fieldsKey(fields), version };
    const { side, types, mark } = this.#tables;
    const { objects } = qualified(this.#names);
    const same = (row: unknown[] | undefined) => row !== undefined && row[0] === entry.key && row[1] === entry.version;
    const registered = async () => {
      const { rows } = await client.query({ text: `SELECT to_regclass($1) IS NOT NULL`, values: [types], rowMode: 'array' });
      if (rows[0]![0] !== true) return undefined;
      return (await client.query({ text: `SELECT fields, type_version FROM ${types} WHERE type = $1`, values: [type], rowMode: 'array' })).rows[0] as unknown[] | undefined;
    };
    if (!same(await registered())) {
      await client.query('BEGIN');
      try {
        await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`cuttle:${this.#names.schema}.${this.#names.table}:search`]);
        await client.query(this.#tablesSql());
        // Writers of the search rows wait for this transaction, then see the new registry.
        await client.query(`LOCK TABLE ${side} IN SHARE ROW EXCLUSIVE MODE`);
        if (!same(await registered())) {
          const literal = typeLiteral(type);
          const trigger = (what: string) => quote(`${this.#names.table.slice(0, 40)}_s${nameHash(type)}_${what}`);
          await client.query(`DELETE FROM ${side} WHERE type = ${literal}`);
          await client.query(
            `INSERT INTO ${types} (type, fields, type_version) VALUES ($1, $2, $3) ON CONFLICT (type) DO UPDATE SET fields = excluded.fields, type_version = excluded.type_version`,
            [type, entry.key, entry.version],
          );
          for (const what of ['w', 'd', 'm']) await client.query(`DROP TRIGGER IF EXISTS ${trigger(what)} ON ${objects}`);
          await client.query(`CREATE TRIGGER ${trigger('w')} AFTER INSERT OR UPDATE ON ${objects} FOR EACH ROW WHEN (NEW.type = ${literal}) EXECUTE FUNCTION ${mark}(${literal})`);
          await client.query(`CREATE TRIGGER ${trigger('d')} AFTER DELETE ON ${objects} FOR EACH ROW WHEN (OLD.type = ${literal}) EXECUTE FUNCTION ${mark}(${literal})`);
          await client.query(
            `CREATE TRIGGER ${trigger('m')} AFTER UPDATE ON ${objects} FOR EACH ROW WHEN (OLD.type = ${literal} AND NEW.type IS DISTINCT FROM ${literal}) EXECUTE FUNCTION ${mark}(${literal})`,
          );
          // Made once the rows are judged (a bulk build, several times faster than row by row).
          await client.query(`DROP INDEX IF EXISTS ${quote(this.#names.schema)}.${this.ginIndex(type)}`);
          await client.query(`INSERT INTO ${side} (type, id) SELECT type, id FROM ${objects} WHERE type = ${literal}`);
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    }
    this.#entries.set(type, entry);
    await this.#fill(client, type, entry);
    const gin = `${quote(this.#names.schema)}.${this.ginIndex(type)}`;
    if ((await client.query({ text: `SELECT to_regclass($1) IS NULL`, values: [gin], rowMode: 'array' })).rows[0]![0] === true) {
      try {
        await client.query(`CREATE INDEX IF NOT EXISTS ${this.ginIndex(type)} ON ${side} USING gin (tsv) WHERE type = ${typeLiteral(type)}`);
      } catch (error) {
        // Another backend made it at the same moment (IF NOT EXISTS is not atomic): it exists.
        const code = (error as { code?: unknown }).code;
        if (code !== '23505' && code !== '42P07') throw error;
      }
    } else {
      // Rows judged again went to the GIN index's pending list, which every search reads through
      // and the planner counts against the index: merged now.
      await client.query(`SELECT gin_clean_pending_list(to_regclass($1))`, [gin]);
    }
  }

  /** The name of `type`'s GIN index (unqualified, quoted). */
  ginIndex(type: string): string {
    return quote(`${this.#names.table.slice(0, 40)}_s${nameHash(type)}_gin`);
  }

  /** The tables, indexes, function and truncate trigger every searchable type shares; idempotent. */
  #tablesSql(): string {
    const { side, types, stats, mark, count } = this.#tables;
    const { objects } = qualified(this.#names);
    const table = this.#names.table.slice(0, 40);
    const name = (what: string) => quote(`${table}_search_${what}`);
    return `
      CREATE TABLE IF NOT EXISTS ${types} (type text COLLATE "C" PRIMARY KEY, fields text NOT NULL, type_version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${side} (
        type text COLLATE "C" NOT NULL,
        id   text COLLATE "C" NOT NULL,
        hash text,
        body text,
        len  integer,
        tsv  tsvector,
        PRIMARY KEY (type, id)
      );
      CREATE TABLE IF NOT EXISTS ${stats} (type text COLLATE "C" NOT NULL, documents bigint NOT NULL, length bigint NOT NULL);
      CREATE INDEX IF NOT EXISTS ${name('stats_type')} ON ${stats} (type);
      CREATE INDEX IF NOT EXISTS ${name('unjudged')} ON ${side} (type, id) WHERE body IS NULL;
      CREATE INDEX IF NOT EXISTS ${name('stale')} ON ${side} (type, id) WHERE hash IS NULL;
      CREATE OR REPLACE FUNCTION ${mark}() RETURNS trigger LANGUAGE plpgsql AS $cuttle$
      DECLARE
        stored text;
        written text;
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          DELETE FROM ${side};
          RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' THEN
          IF OLD.type = TG_ARGV[0] AND (TG_OP = 'DELETE' OR OLD.id <> NEW.id OR OLD.type <> NEW.type) THEN
            DELETE FROM ${side} WHERE type = OLD.type AND id = OLD.id;
          END IF;
        END IF;
        IF TG_OP <> 'DELETE' THEN
          IF NEW.type = TG_ARGV[0] THEN
            -- A read first: after this backend's own writes the row is right, and nothing is written.
            written := md5(NEW.content);
            SELECT hash INTO stored FROM ${side} WHERE type = NEW.type AND id = NEW.id;
            IF NOT FOUND THEN
              INSERT INTO ${side} AS s (type, id) VALUES (NEW.type, NEW.id)
                ON CONFLICT (type, id) DO UPDATE SET hash = NULL, body = NULL, len = NULL, tsv = NULL WHERE s.hash IS DISTINCT FROM written;
            ELSIF stored IS DISTINCT FROM written THEN
              UPDATE ${side} SET hash = NULL, body = NULL, len = NULL, tsv = NULL
                WHERE type = NEW.type AND id = NEW.id AND hash IS DISTINCT FROM written;
            END IF;
          END IF;
        END IF;
        RETURN NULL;
      END $cuttle$;
      CREATE OR REPLACE FUNCTION ${count}() RETURNS trigger LANGUAGE plpgsql AS $cuttle$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO ${stats} (type, documents, length)
            SELECT type, count(len), coalesce(sum(len), 0) FROM added GROUP BY type HAVING count(len) > 0;
        ELSIF TG_OP = 'UPDATE' THEN
          INSERT INTO ${stats} (type, documents, length)
            SELECT type, sum(d), sum(l) FROM (
              SELECT type, count(len) AS d, coalesce(sum(len), 0) AS l FROM added GROUP BY type
              UNION ALL SELECT type, -count(len), -coalesce(sum(len), 0) FROM removed GROUP BY type) AS x
            GROUP BY type HAVING sum(d) <> 0 OR sum(l) <> 0;
        ELSE
          INSERT INTO ${stats} (type, documents, length)
            SELECT type, -count(len), -coalesce(sum(len), 0) FROM removed GROUP BY type HAVING count(len) > 0;
        END IF;
        RETURN NULL;
      END $cuttle$;
      DROP TRIGGER IF EXISTS ${name('added')} ON ${side};
      DROP TRIGGER IF EXISTS ${name('changed')} ON ${side};
      DROP TRIGGER IF EXISTS ${name('removed')} ON ${side};
      CREATE TRIGGER ${name('added')} AFTER INSERT ON ${side} REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ${count}();
      CREATE TRIGGER ${name('changed')} AFTER UPDATE ON ${side} REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION ${count}();
      CREATE TRIGGER ${name('removed')} AFTER DELETE ON ${side} REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION ${count}();
      DROP TRIGGER IF EXISTS ${name('truncate')} ON ${objects};
      CREATE TRIGGER ${name('truncate')} AFTER TRUNCATE ON ${objects} FOR EACH STATEMENT EXECUTE FUNCTION ${mark}();`;
  }

  /**
   * Judges the rows of `type` that have no hash (made empty by the trigger, or new), a chunk per
   * transaction, each object locked while its tokens are written (one being written meanwhile is
   * skipped: its writer's statement or the trigger sees to it).
   */
  async #fill(client: PoolClient, type: string, entry: SearchEntry): Promise<void> {
    const { side, types } = this.#tables;
    const { objects } = qualified(this.#names);
    const literal = typeLiteral(type);
    for (let after = ''; ; ) {
      await client.query('BEGIN');
      try {
        // Lost in a crash, the rows are unjudged again, which is still exact: no need to wait for the disk.
        await client.query(`SET LOCAL synchronous_commit = off`);
        const { rows } = await client.query({
          text: `SELECT o.id, o.content FROM ${side} s JOIN ${objects} o ON o.type = s.type AND o.id = s.id
            WHERE s.type = ${literal} AND s.hash IS NULL AND s.id > $1 ORDER BY s.id LIMIT ${FILL_CHUNK} FOR SHARE OF o SKIP LOCKED`,
          values: [after],
          rowMode: 'array',
        });
        const ids: string[] = [];
        const bodies: Array<string | null> = [];
        const lens: Array<number | null> = [];
        for (const [id, content] of rows as Array<[string, string]>) {
          const [body, len] = judge(id, decodeContent(content), entry);
          ids.push(id);
          bodies.push(body);
          lens.push(len);
        }
        if (ids.length > 0) {
          await client.query(
            `UPDATE ${side} s SET hash = md5(o.content), body = v.body, len = v.len, tsv = ${tsvOf('v.body')}
              FROM unnest($1::text[], $2::text[], $3::int4[]) AS v(id, body, len), ${objects} o
              WHERE s.type = ${literal} AND s.id = v.id AND o.type = ${literal} AND o.id = v.id
                AND EXISTS (SELECT 1 FROM ${types} r WHERE r.type = ${literal} AND r.fields = $4 AND r.type_version = $5)`,
            [ids, bodies, lens, entry.key, entry.version],
          );
        }
        await client.query('COMMIT');
        if (rows.length < FILL_CHUNK) return;
        after = ids.at(-1)!;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    }
  }

  /**
   * Answers a search of `type` from its index, or undefined when the registry has none for exactly
   * these `fields` and `typeVersion` (the store then scans). One REPEATABLE READ transaction, so
   * the statistics, the matches and the unjudged rows are of one snapshot. The statistics are the
   * sum of the rows the search rows' triggers add (one per statement that changes them), added up
   * into one row after a search that summed more than {@link COMPACT_AT}.
   */
  async answer(client: PoolClient, type: string, fields: readonly (readonly string[])[], terms: readonly SearchTerm[], typeVersion: number): Promise<SearchAnswer | undefined> {
    if (!this.usable) return undefined;
    const { types } = this.#tables;
    const run = async (text: string, values: unknown[] = []) => (await client.query({ text, values, rowMode: 'array' })).rows as unknown[][];
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    let compact = false;
    try {
      if ((await run(`SELECT to_regclass($1) IS NOT NULL`, [types]))[0]![0] !== true) return undefined;
      const { sql, values } = this.searchSql(type, terms);
      const [stats] = await run(sql.stats, values);
      if (stats === undefined || stats[0] !== fieldsKey(fields) || stats[1] !== typeVersion) return undefined;
      compact = (stats[4] as number) > COMPACT_AT;
      const matches = (await run(sql.matches, values)) as Array<[string, string, number]>;
      const unjudged = (await run(sql.unjudged)) as Array<[string, string, RecordKind, string, number, number]>;
      return {
        documents: stats[2] as number,
        length: stats[3] as number,
        having: terms.map((_, t) => stats[5 + t] as number),
        ids: matches.map((row) => row[0]),
        texts: matches.map((row) => row[1]),
        lengths: matches.map((row) => row[2]),
        unjudged: unjudged.map(([type, id, kind, content, version, updatedAt]): StoredRecord => ({ type, id, kind, content: decodeContent(content), version, updatedAt })),
      };
    } finally {
      await client.query('COMMIT');
      if (compact) await client.query(this.#compactSql(type));
    }
  }

  /**
   * The statements of a search of `type` for `terms`, with their parameters (per term its tsquery,
   * and a phrase's needle): the registry row with the statistics (`stats`), the matching rows
   * (`matches`: id, body, len) and the unjudged objects (`unjudged`, no parameters).
   */
  /**
   * Adds `type`'s statistics rows up into one. Under READ COMMITTED (autocommit): rows other
   * transactions add meanwhile are not seen, so not deleted, and still count.
   */
  #compactSql(type: string): string {
    const { stats } = this.#tables;
    const literal = typeLiteral(type);
    return `WITH d AS (DELETE FROM ${stats} WHERE type = ${literal} RETURNING documents, length)
      INSERT INTO ${stats} (type, documents, length) SELECT ${literal}, coalesce(sum(documents), 0), coalesce(sum(length), 0) FROM d`;
  }

  searchSql(type: string, terms: readonly SearchTerm[]) {
    const { side, types, stats } = this.#tables;
    const { objects } = qualified(this.#names);
    const literal = typeLiteral(type);
    const values: string[] = [];
    const param = (value: string) => `$${values.push(value)}`;
    const queries: string[] = [];
    const phrases: string[] = [];
    const conditions = terms.map((term) => {
      const query = `${param(tsTerm(term))}::tsquery`;
      queries.push(query);
      if (term.kind !== 'phrase') return `tsv @@ ${query}`;
      const needle = param(phraseNeedle(term));
      phrases.push(needle);
      return `tsv @@ ${query} AND strpos(' ' || body || ' ', ${needle}) > 0`;
    });
    const having = conditions.map((condition) => `, (SELECT count(*) FROM ${side} WHERE type = ${literal} AND ${condition})::float8`).join('');
    const sql = {
      stats: `SELECT r.fields, r.type_version, j.documents, j.length, j.rows${having}
        FROM ${types} r, (SELECT coalesce(sum(documents), 0)::float8 AS documents, coalesce(sum(length), 0)::float8 AS length, count(*)::float8 AS rows FROM ${stats} WHERE type = ${literal}) j
        WHERE r.type = ${literal}`,
      // One GIN lookup for all the terms (tsquery && tsquery), then the phrases' exact tests.
      matches: `SELECT id, body, len::float8 FROM ${side} WHERE type = ${literal} AND tsv @@ (${queries.join(' && ')})${phrases.map((needle) => ` AND strpos(' ' || body || ' ', ${needle}) > 0`).join('')}`,
      unjudged: `SELECT o.type, o.id, o.kind, o.content, o.version::float8, o.updated_at::float8 FROM ${side} s JOIN ${objects} o ON o.type = s.type AND o.id = s.id WHERE s.type = ${literal} AND s.body IS NULL`,
    };
    return { sql, values };
  }
}

/** The registry's fields key and version as an entry (the key is sorted dotted paths; the order of fields does not change a body's counts). */
function entryOf(key: string, version: number): SearchEntry {
  return { fields: (JSON.parse(key) as string[]).map((path) => path.split('.')), key, version };
}
