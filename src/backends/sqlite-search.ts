/**
 * Full-text search indexes on SQLite (FTS5), answering exactly what the store's scan answers
 * (src/query/search.ts): the index holds the JavaScript tokenizer's own tokens, so FTS5 only
 * finds and counts; the store still ranks.
 *
 * Per searchable type T: `cuttle_search_docs_T` (one row per object of T: its id, its tokens joined
 * by spaces, fields and array items apart by a `§` token no search term can be, and its token
 * count), `cuttle_search_stats_T` (how many rows have text, and their tokens in all), an FTS5
 * index on the docs (external content, the `ascii` tokenizer, which splits the text only at those
 * spaces), and triggers on `objects` that keep both in step in the very transaction
 * of every insert, update and delete, whichever connection writes. The triggers call the function
 * `cuttle_search_text`, which every writing connection registers ({@link registerSearchFunctions}).
 *
 * A record whose strings the backend cannot read without the class (another type version than the
 * index's, or a superjson `meta` it does not know: see `searchableDocument` in codec.ts) has a
 * row with no text: "unjudged". A search gets those records whole, for the store to tokenize, with the FTS answer over the others.
 * @module
 */
import type Database from 'better-sqlite3';
import type { SearchTerm } from '../query/search.js';
import type { SearchAnswer, StoredRecord } from './backend.js';
import { fieldsKey, searchLength, searchText as documentText } from './search-text.js';
import { typeLiteral } from './sql-query.js';

/** The stored search text of a document, or null when it is unjudged (see the module's doc); `fieldsJson` is the fields as JSON. */
export function searchText(id: string, content: string, fieldsJson: string, typeVersion: number): string | null {
  return documentText(id, content, JSON.parse(fieldsJson) as string[][], typeVersion);
}

/** Registers the functions the search triggers call, on a connection that may write. */
export function registerSearchFunctions(db: Database.Database): void {
  db.function('cuttle_search_text', { deterministic: true }, (id, content, fields, version) =>
    searchText(String(id), String(content), String(fields), Number(version)),
  );
  db.function('cuttle_search_length', { deterministic: true }, (text) => searchLength(text as string | null));
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
const docsTable = (type: string) => quote(`cuttle_search_docs_${type}`);
const ftsTable = (type: string) => quote(`cuttle_search_fts_${type}`);
const statsTable = (type: string) => quote(`cuttle_search_stats_${type}`);
const trigger = (type: string, what: string) => quote(`cuttle_search_${what}_${type}`);

function ensureRegistry(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS cuttle_search (type TEXT PRIMARY KEY, fields TEXT NOT NULL, type_version INTEGER NOT NULL) STRICT`);
}

function dropIndex(db: Database.Database, type: string): void {
  for (const what of ['insert', 'update', 'delete', 'docs_insert', 'docs_update', 'docs_delete']) db.exec(`DROP TRIGGER IF EXISTS ${trigger(type, what)}`);
  db.exec(`DROP TABLE IF EXISTS ${ftsTable(type)}; DROP TABLE IF EXISTS ${docsTable(type)}; DROP TABLE IF EXISTS ${statsTable(type)}`);
  db.prepare(`DELETE FROM cuttle_search WHERE type = ?`).run(type);
}

/**
 * Makes (or keeps, when it has these fields and type version) the search index of `type`, built
 * over the stored rows; an index of other fields or another version is rebuilt. Idempotent.
 */
export function createSearchIndex(db: Database.Database, type: string, fields: readonly (readonly string[])[], typeVersion: number): void {
  const key = fieldsKey(fields);
  db.transaction(() => {
    ensureRegistry(db);
    const existing = db.prepare(`SELECT fields, type_version AS version FROM cuttle_search WHERE type = ?`).get(type) as { fields: string; version: number } | undefined;
    if (existing !== undefined && existing.fields === key && existing.version === typeVersion) return;
    dropIndex(db, type);
    const docs = docsTable(type);
    const fts = ftsTable(type);
    const stats = statsTable(type);
    const args = (row: string) => `${row}.id, ${row}.content, ${typeLiteral(JSON.stringify(fields))}, ${typeVersion}`;
    const upsert = (row: string) =>
      `INSERT INTO ${docs} (id, body, len) SELECT ${row}.id, t, cuttle_search_length(t) FROM (SELECT cuttle_search_text(${args(row)}) AS t) WHERE true ` +
      `ON CONFLICT (id) DO UPDATE SET body = excluded.body, len = excluded.len;`;
    const ofType = (row: string) => `WHEN ${row}.type = ${typeLiteral(type)}`;
    db.exec(`
      CREATE TABLE ${docs} (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, body TEXT, len INTEGER);
      CREATE INDEX ${quote(`cuttle_search_len_${type}`)} ON ${docs} (len);
      CREATE VIRTUAL TABLE ${fts} USING fts5(body, content=${quote(`cuttle_search_docs_${type}`)}, content_rowid='rowid', tokenize='ascii');
      CREATE TABLE ${stats} (documents INTEGER NOT NULL, length INTEGER NOT NULL);
      INSERT INTO ${stats} VALUES (0, 0);
      CREATE TRIGGER ${trigger(type, 'docs_insert')} AFTER INSERT ON ${docs} BEGIN
        INSERT INTO ${fts} (rowid, body) VALUES (new.rowid, new.body);
        UPDATE ${stats} SET documents = documents + (new.len IS NOT NULL), length = length + coalesce(new.len, 0); END;
      CREATE TRIGGER ${trigger(type, 'docs_delete')} AFTER DELETE ON ${docs} BEGIN
        INSERT INTO ${fts} (${fts}, rowid, body) VALUES ('delete', old.rowid, old.body);
        UPDATE ${stats} SET documents = documents - (old.len IS NOT NULL), length = length - coalesce(old.len, 0); END;
      CREATE TRIGGER ${trigger(type, 'docs_update')} AFTER UPDATE ON ${docs} BEGIN
        INSERT INTO ${fts} (${fts}, rowid, body) VALUES ('delete', old.rowid, old.body);
        INSERT INTO ${fts} (rowid, body) VALUES (new.rowid, new.body);
        UPDATE ${stats} SET documents = documents + (new.len IS NOT NULL) - (old.len IS NOT NULL), length = length + coalesce(new.len, 0) - coalesce(old.len, 0); END;
      CREATE TRIGGER ${trigger(type, 'insert')} AFTER INSERT ON objects ${ofType('new')} BEGIN ${upsert('new')} END;
      CREATE TRIGGER ${trigger(type, 'update')} AFTER UPDATE OF content ON objects ${ofType('new')} BEGIN ${upsert('new')} END;
      CREATE TRIGGER ${trigger(type, 'delete')} AFTER DELETE ON objects ${ofType('old')} BEGIN DELETE FROM ${docs} WHERE id = old.id; END;
      INSERT INTO ${docs} (id, body, len) SELECT id, t, cuttle_search_length(t)
        FROM (SELECT id, cuttle_search_text(id, content, ${typeLiteral(JSON.stringify(fields))}, ${typeVersion}) AS t FROM objects WHERE type = ${typeLiteral(type)});`);
    db.prepare(`INSERT INTO cuttle_search (type, fields, type_version) VALUES (?, ?, ?)`).run(type, key, typeVersion);
  }).immediate();
}

/** The FTS5 query of one term: quoted tokens, so no token is read as syntax. */
export function ftsTerm(term: SearchTerm): string {
  if (term.kind === 'phrase') return `"${term.tokens.join(' ')}"`;
  return term.kind === 'prefix' ? `"${term.token}"*` : `"${term.token}"`;
}

type Row = [string, string, StoredRecord['kind'], string, number, number];
const COLUMNS = 'o.type, o.id, o.kind, o.content, o.version, o.updated_at';
const toRecord = ([type, id, kind, content, version, updatedAt]: Row): StoredRecord => ({ type, id, kind, content, version, updatedAt });

/** The rows of `type`'s index holding every term (bound as one FTS5 query): id, tokens, token count. */
function matchSql(type: string): string {
  const fts = ftsTable(type);
  return `SELECT d.id, d.body, d.len FROM ${fts} CROSS JOIN ${docsTable(type)} d ON d.rowid = ${fts}.rowid WHERE ${fts} MATCH ?`;
}

/**
 * Answers a search of `type` from its index, or undefined when there is none for exactly these
 * `fields` and `typeVersion` (the store then scans). One read transaction, so the counts and the
 * matches agree.
 */
export function searchIndexed(db: Database.Database, type: string, fields: readonly (readonly string[])[], terms: readonly SearchTerm[], typeVersion: number): SearchAnswer | undefined {
  return db.transaction((): SearchAnswer | undefined => {
    const registered = db.prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'cuttle_search'`).get();
    if (registered === undefined) return undefined;
    const index = db.prepare(`SELECT fields, type_version AS version FROM cuttle_search WHERE type = ?`).get(type) as { fields: string; version: number } | undefined;
    // An index of records of another type version read them as the store would not (it upgrades them).
    if (index === undefined || index.fields !== fieldsKey(fields) || index.version !== typeVersion) return undefined;
    const docs = docsTable(type);
    const fts = ftsTable(type);
    const stats = db.prepare(`SELECT documents, length FROM ${statsTable(type)}`).raw().get() as [number, number];
    const having = terms.map((term) => db.prepare(`SELECT count(*) FROM ${fts} WHERE ${fts} MATCH ?`).pluck().get(ftsTerm(term)) as number);
    const join = `JOIN objects o ON o.type = ${typeLiteral(type)} AND o.id = d.id`;
    const matches = db
      .prepare(matchSql(type))
      .raw()
      .all(terms.map(ftsTerm).join(' AND ')) as Array<[string, string, number]>;
    // CROSS JOIN: from the few unjudged rows (an index seek) to their objects, never the other way.
    const unjudged = db.prepare(`SELECT ${COLUMNS} FROM ${docs} d CROSS ${join} WHERE d.len IS NULL`).raw().all() as Row[];
    return {
      documents: stats[0],
      length: stats[1],
      having,
      ids: matches.map((row) => row[0]),
      texts: matches.map((row) => row[1]),
      lengths: matches.map((row) => row[2]),
      unjudged: unjudged.map(toRecord),
    };
  })();
}

/** The plan SQLite chooses for the matching rows of a search (EXPLAIN QUERY PLAN's details). */
export function explainSearch(db: Database.Database, type: string, terms: readonly SearchTerm[]): string[] {
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN ${matchSql(type)}`)
    .all(terms.map(ftsTerm).join(' AND ')) as Array<{ detail: string }>;
  return plan.map((step) => step.detail);
}
