// PostgreSQL's full-text index (postgres-search.ts): searches served by the GIN index (the plan,
// and no scan of the type), answers and statistics equal to the scan's (a memory backend's) over
// generated texts and queries, the index kept in step by every write path of the backend, and
// still exact when something else writes the table (a backend that does not know the index, SQL).
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InMemoryBackend } from '../src/backends/memory.js';
import { toSearch } from '../src/query/search.js';
import { Serializable, Store } from '../src/index.js';
import { PostgresBackend } from '../src/postgres.js';
import { adminPool, dropSchema, freshSchema, listening, PG_URL } from './postgres-server.js';
import { countLists, Doc, docs, generatedSearches, queries, random, sameSearches, sameStats as sameIndexStats, saveBoth } from './search-data.js';

interface Context {
  schema: string;
  backend: PostgresBackend;
  store: Store;
  scan: Store;
  listed: string[];
}
const test = suite<Context>('postgres full-text search', {} as Context);

const open = (schema: string, more: { pool?: pg.Pool } = {}) =>
  listening(new PostgresBackend({ ...(more.pool ? { pool: more.pool } : { connectionString: PG_URL }), schema }));

test.before.each(async (context) => {
  context.schema = freshSchema('pgfts');
  context.backend = await open(context.schema);
  context.listed = [];
  countLists(context.backend, context.listed);
  context.store = new Store({ backend: context.backend });
  context.scan = new Store({ backend: new InMemoryBackend() });
});
test.after.each(async ({ store, scan, schema }) => {
  await store.close();
  await scan.close();
  await dropSchema(schema);
});

/** Asserts the index answers `texts` as the scan does, its statistics too. */
async function sameAnswers(context: Context, texts: readonly string[], options?: { fields?: string[]; limit?: number }): Promise<number> {
  if (options === undefined) await sameStats(context, texts.slice(0, 10));
  return sameSearches(context, texts, options);
}

/** See search-data.ts: @returns how many records the index left unjudged. */
async function sameStats(context: Context, texts: readonly string[]): Promise<number> {
  return (await sameIndexStats(context, texts)).unjudged;
}

/** How many stored objects the index cannot read (shared references): those, and only those, it leaves unjudged when this backend wrote everything. */
async function unreadable(context: Context): Promise<number> {
  return (await context.scan.find(Doc)).filter((doc) => doc.extra !== undefined).length;
}

/** Asserts the backend's own writes left every readable object judged. */
async function allJudged(context: Context, step: string): Promise<void> {
  assert.is(await sameStats(context, ['milk']), await unreadable(context), `unjudged after ${step}`);
}

/** The plan of the matching rows' statement, with sequential scans off (so only a usable index avoids one). */
async function matchPlan(context: Context, text: string): Promise<string> {
  const { sql, values } = context.backend.searchStatements('Doc', toSearch(text, undefined, Doc.searchable, 'Doc').terms);
  const client = await adminPool().connect();
  try {
    await client.query(`ANALYZE "${context.schema}"."objects_search"`);
    await client.query('SET enable_seqscan = off');
    const { rows } = await client.query({ text: `EXPLAIN ${sql.matches}`, values });
    return rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
  } finally {
    await client.query('RESET enable_seqscan');
    client.release();
  }
}

/** The search rows of the schema's table: id -> whether judged (has a body). */
async function searchRows(schema: string): Promise<Map<string, boolean>> {
  const { rows } = await adminPool().query<{ id: string; judged: boolean }>(`SELECT id, body IS NOT NULL AS judged FROM "${schema}"."objects_search" WHERE type = 'Doc'`);
  return new Map(rows.map((row) => [row.id, row.judged]));
}

test('a search of the searchable fields is served by the GIN index: its plan, and no listing of the type', async (context) => {
  await saveBoth(context, [...docs(random(1), 2000), ...['a', 'b', 'c'].map((id) => Object.assign(new Doc(id), { title: 'a rare word', body: 'milk' }))]);
  const before = context.listed.length;
  assert.is((await context.store.search(Doc, 'rare')).length, 3);
  assert.is(context.listed.length, before, 'the search listed the type: it scanned');
  // Words a few documents hold (the planner rightly reads all the type's rows for one in five).
  for (const text of ['rare', 'rar*', '"rare word"', 'milk rare', 'nowhere']) {
    const plan = await matchPlan(context, text);
    assert.match(plan, /Bitmap Index Scan on objects_s[0-9a-f]{8}_gin/, plan);
  }
  // Other fields than the index's: the scan.
  await context.store.search(Doc, 'milk', { fields: ['title'] });
  assert.is(context.listed.length, before + 1);
});

test('answers and statistics equal the scan over 400 generated texts and 300 queries (unicode, accents, prefixes, phrases, arrays, limits)', async (context) => {
  await generatedSearches(context, (texts, options) => sameAnswers(context, texts, options));
  // Every object has its row; only those with shared references (which the index cannot read) are unjudged.
  const rows = await searchRows(context.schema);
  assert.is(rows.size, 400);
  const unjudged = [...rows].filter(([, judged]) => !judged).map(([id]) => id);
  const shared = (await context.scan.find(Doc)).filter((doc) => doc.extra !== undefined).map((doc) => doc.id);
  assert.equal(unjudged.sort(), shared.sort());
});

test('the index is built over rows stored before it, and kept by saves, deletes, deleteMany, batches, puts, transactions (rolled back too), imports and clear', async (context) => {
  const next = random(6);
  await saveBoth(context, docs(next, 200));
  await sameAnswers(context, queries(7, 40));
  // Re-save with new texts (a batch), one at a time, delete, delete and save again.
  await saveBoth(context, docs(next, 60));
  for (const doc of docs(next, 5, 'one')) await saveBoth(context, [doc]);
  for (const id of ['d60', 'd61', 'd62', 'd150']) {
    await context.store.delete(Doc, id);
    await context.scan.delete(Doc, id);
  }
  await saveBoth(context, [Object.assign(new Doc('d61'), { title: 'milk milk milk', body: 'café' })]);
  await allJudged(context, 'saves');
  // A checked save (expectedVersion) takes its own statement.
  const checked = await context.store.load(Doc, 'd5');
  checked.title = 'milk checked';
  await context.store.save(checked, { expectedVersion: context.store.versionOf(checked) });
  await context.scan.save(Object.assign(new Doc('d5'), checked));
  await allJudged(context, 'a checked save');
  await sameAnswers(context, queries(8, 60));
  const ids = ['d1', 'd2', 'd3', 'd170', 'nothing'];
  await context.backend.deleteMany('Doc', ids);
  for (const id of ids) await context.scan.delete(Doc, id);
  await sameAnswers(context, queries(9, 60));
  const inTx = docs(next, 10, 't');
  for (const store of [context.store, context.scan]) {
    await store.transaction(async (tx) => {
      await tx.saveMany(inTx.map((doc) => Object.assign(new Doc(doc.id), doc)));
      const mine = await tx.load(Doc, 't0');
      mine.body = 'milk in a transaction';
      await tx.save(mine, { expectedVersion: 1 });
      await tx.delete(Doc, 'd4');
    });
    // A rolled-back transaction leaves the index as it was.
    await store
      .transaction(async (tx) => {
        await tx.save(Object.assign(new Doc('gone'), { title: 'milk' }));
        await tx.save(Object.assign(new Doc('d7'), { title: 'milk' }));
        throw new Error('roll back');
      })
      .catch(() => undefined);
  }
  await allJudged(context, 'transactions');
  await sameAnswers(context, ['milk', ...queries(10, 60)]);
  // Records put as they are (one, and a batch), then a replacing import.
  const dump = await context.scan.exportData();
  const [first, ...rest] = dump.records.filter((record) => record.type === 'Doc').slice(0, 30);
  await context.backend.put({ ...first!, content: first!.content.replace('"title":"', '"title":"milk put ') });
  await context.scan.backend.put({ ...first!, content: first!.content.replace('"title":"', '"title":"milk put ') });
  await context.backend.putMany(rest.map((record) => ({ ...record, id: `p${record.id}` })));
  await context.scan.backend.putMany(rest.map((record) => ({ ...record, id: `p${record.id}` })));
  context.scan.cache.clear(); // written under its cache
  await allJudged(context, 'put and putMany');
  await sameAnswers(context, ['milk', ...queries(11, 40)]);
  await context.store.importData(await context.scan.exportData(), { mode: 'replace' });
  await allJudged(context, 'an import');
  await sameAnswers(context, queries(12, 60));
  await context.store.clear();
  await context.scan.clear();
  assert.equal(await context.store.search(Doc, 'milk'), []);
  assert.is((await searchRows(context.schema)).size, 0);
  await saveBoth(context, docs(next, 50));
  await allJudged(context, 'clear and saves');
  await sameAnswers(context, queries(13, 40));
  assert.equal(context.listed, []);
});

test('writes that do not maintain the index (a backend opened before it, SQL) leave their objects unjudged: answers still exact; a new build judges them again', async (context) => {
  // Opened before the index exists: its writes carry no tokens, as an older cuttle's.
  const unaware = await open(context.schema);
  const other = new Store({ backend: unaware });
  try {
    await saveBoth(context, docs(random(20), 150));
    await sameAnswers(context, queries(21, 10));
    await allJudged(context, 'saves');
    // Saves, a batch and a delete by the unaware backend; an update, an insert and a delete in SQL.
    const changed = docs(random(22), 12);
    await other.saveMany(changed.slice(0, 8));
    for (const doc of changed.slice(8)) await other.save(doc);
    await other.delete(Doc, 'd20');
    for (const doc of changed) await context.scan.save(Object.assign(new Doc(doc.id), doc));
    await context.scan.delete(Doc, 'd20');
    const table = `"${context.schema}"."objects"`;
    await adminPool().query(`UPDATE ${table} SET content = replace(content, '"title":"', '"title":"milk sql '), version = version + 1 WHERE type = 'Doc' AND id IN ('d30', 'd31')`);
    const d40 = (await context.scan.backend.load('Doc', 'd40'))!;
    await adminPool().query(`INSERT INTO ${table} SELECT 'Doc', 'sql1', kind, content, 1, 0, 0 FROM ${table} WHERE type = 'Doc' AND id = 'd40'`);
    await adminPool().query(`DELETE FROM ${table} WHERE type = 'Doc' AND id = 'd41'`);
    for (const id of ['d30', 'd31']) {
      const record = (await context.scan.backend.load('Doc', id))!;
      await context.scan.backend.put({ ...record, content: record.content.replace('"title":"', '"title":"milk sql ') });
    }
    await context.scan.backend.put({ ...d40, id: 'sql1' });
    context.scan.cache.clear(); // written under its cache
    await context.scan.delete(Doc, 'd41');
    // The store gets them whole and tokenizes them: answers and statistics as the scan's.
    const unjudged = await sameStats(context, queries(23, 10));
    await sameAnswers(context, ['milk', 'milk sql', '"milk sql"', ...queries(24, 80)]);
    const written = new Set([...changed.map((doc) => doc.id), 'd30', 'd31', 'sql1']);
    const readable = (await context.scan.find(Doc)).filter((doc) => written.has(doc.id) && doc.extra === undefined).length;
    assert.is(unjudged, (await unreadable(context)) + readable, 'unjudged: the unreadable ones, and the readable ones written around the index');
    // Every object still has exactly one row.
    assert.is((await searchRows(context.schema)).size, (await context.scan.find(Doc)).length);
    // A store's first search builds (here: keeps) the index and judges those rows again.
    const fresh = new Store({ backend: await open(context.schema) });
    await fresh.search(Doc, 'milk');
    await fresh.close();
    await allJudged(context, 'a new build');
    await sameAnswers(context, ['milk', ...queries(25, 40)]);
  } finally {
    await other.close();
  }
});

test('the statistics, a row per change, are added up into one by a search that sums many, and stay exact', async (context) => {
  await saveBoth(context, docs(random(40), 100));
  await context.store.search(Doc, 'milk');
  // One row of statistics per save: more than a search sums before it adds them up.
  for (const doc of docs(random(41), 1100, 's')) await saveBoth(context, [doc]);
  const statsRows = async () => Number((await adminPool().query(`SELECT count(*) AS n FROM "${context.schema}"."objects_search_stats" WHERE type = 'Doc'`)).rows[0].n);
  assert.ok((await statsRows()) > 1000, `${await statsRows()} rows of statistics`);
  await allJudged(context, 'many saves');
  assert.is(await statsRows(), 1);
  await sameAnswers(context, ['milk', ...queries(42, 20)]);
  for (const id of ['s1', 's2', 'd3']) {
    await context.store.delete(Doc, id);
    await context.scan.delete(Doc, id);
  }
  await sameAnswers(context, ['milk', ...queries(43, 20)]);
});

test('TRUNCATE of the objects table empties the search rows', async (context) => {
  await saveBoth(context, docs(random(30), 40));
  assert.ok((await context.store.search(Doc, 'milk')).length > 0);
  await adminPool().query(`TRUNCATE "${context.schema}"."objects"`);
  await context.scan.clear();
  assert.is((await searchRows(context.schema)).size, 0);
  await sameAnswers(context, ['milk', 'caf*']);
});

test('namespaces sharing a table have an index each', async (context) => {
  const other = new Store({ backend: context.backend, namespace: 'billing' });
  await context.store.save(Object.assign(new Doc('a'), { title: 'milk' }));
  await other.save(Object.assign(new Doc('b'), { title: 'milk chocolate' }));
  await other.save(Object.assign(new Doc('c'), { title: 'milk' }));
  const before = context.listed.length;
  assert.equal((await context.store.search(Doc, 'milk')).map((doc) => doc.id), ['a']);
  assert.equal((await other.search(Doc, 'milk')).map((doc) => doc.id), ['c', 'b']);
  await other.delete(Doc, 'c');
  await other.save(Object.assign(new Doc('d'), { title: 'milky way' }));
  assert.equal((await other.search(Doc, 'mil*')).map((doc) => doc.id), ['b', 'd']);
  assert.equal((await context.store.search(Doc, 'mil*')).map((doc) => doc.id), ['a']);
  assert.is(context.listed.length, before);
  const { rows } = await adminPool().query(`SELECT type, count(*)::int AS n FROM "${context.schema}"."objects_search" GROUP BY type ORDER BY type`);
  assert.equal(rows, [{ type: 'Doc', n: 1 }, { type: 'billing:Doc', n: 2 }]);
});

test('a class whose searchable fields or version change gets its index rebuilt; a backend still on the old one then writes no tokens', async (context) => {
  await context.store.save(Object.assign(new Doc('a'), { title: 'milk', body: 'cafe' }));
  assert.equal((await context.store.search(Doc, 'cafe')).map((doc) => doc.id), ['a']);
  class Narrow extends Serializable {
    static override typeName = 'Doc';
    static searchable = ['title'];
    static version = 2;
    static upgrade(data: unknown) {
      return data;
    }
    title = '';
    body = '';
  }
  const newer = new Store({ backend: await open(context.schema) });
  try {
    assert.equal((await newer.search(Narrow, 'cafe')).map((doc) => doc.id), []);
    assert.equal((await newer.search(Narrow, 'milk')).map((doc) => doc.id), ['a']);
    await newer.save(Object.assign(new Narrow('b'), { title: 'milk tea' }));
    // The first backend still thinks Doc is indexed at version 1: its save must not write version 1 tokens.
    await context.store.save(Object.assign(new Doc('c'), { title: 'milk', body: 'cafe' }));
    const rows = await searchRows(context.schema);
    assert.is(rows.get('c'), false, 'a row written for the old index');
    // c is unjudged, read by the store as Narrow reads it; a and c are one token long, b two.
    assert.equal((await newer.search(Narrow, 'milk')).map((doc) => doc.id), ['a', 'c', 'b']);
    assert.equal((await newer.search(Narrow, 'cafe')).map((doc) => doc.id), []);
    // To the first backend the index is not Doc's at version 1 any more: no answer from it (the store scans).
    const search = toSearch('cafe', undefined, Doc.searchable, 'Doc');
    assert.is(await context.backend.search('Doc', search.fields, search.terms, 1), undefined);
  } finally {
    await newer.close();
  }
});

test('a class without searchable saves with its one statement, a searchable one with one statement too', async (context) => {
  class Plain extends Serializable {
    static override typeName = 'Plain';
    title = '';
  }
  await context.store.save(Object.assign(new Doc('a'), { title: 'milk' }));
  await context.store.search(Doc, 'milk');
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  const queries: string[] = [];
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = (config: { name?: string; text: string }, ...rest: unknown[]) => {
    queries.push(config.name ?? config.text);
    return query(config, ...rest);
  };
  const backend = await open(context.schema, { pool });
  const store = new Store({ backend });
  try {
    await store.save(Object.assign(new Plain('p'), { title: 'milk' }));
    queries.length = 0;
    await store.save(Object.assign(new Plain('q'), { title: 'milk' }));
    await store.save(Object.assign(new Doc('b'), { title: 'milk' }));
    assert.equal(queries.filter((name) => !name.includes('notify')), [`cuttle ${backend.table} write`, `cuttle ${backend.table} writeSearch`]);
    assert.equal([...(await searchRows(context.schema)).keys()].sort(), ['a', 'b']);
  } finally {
    await store.close();
    await pool.end();
  }
});

test.run();
