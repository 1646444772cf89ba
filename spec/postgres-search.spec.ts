// PostgreSQL's full-text index (postgres-search.ts), what only PostgreSQL has: searches served by
// the GIN index (the plan), one search row per object, every write path of the backend judging
// its rows in its own statement, answers still exact when something else writes the table (a
// backend that does not know the index, SQL, TRUNCATE), the statistics rows, and a backend still
// on an index another one rebuilt. What every index must do (answers and statistics equal to the
// scan's through every write path, namespaces, reopening, a class's new fields) is the conformance
// suite's full-text index section (src/testing/search-index.ts), which spec/postgres.spec.ts runs.
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InMemoryBackend } from '../src/backends/memory.js';
import { toSearch } from '../src/query/search.js';
import { Serializable, Store } from '../src/index.js';
import { PostgresBackend } from '../src/postgres.js';
import { seededRandom } from '../src/testing/random.js';
import { docs, queries, sameSearches, sameStats as sameIndexStats, saveBoth, NarrowSearchDoc, SearchDoc, type PairSearchOptions } from '../src/testing/search-data.js';
import { adminPool, dropSchema, freshSchema, listening, PG_URL } from './postgres-server.js';

interface Context {
  schema: string;
  backend: PostgresBackend;
  store: Store;
  scan: Store;
}
const test = suite<Context>('postgres full-text search', {} as Context);

const open = (schema: string, more: { pool?: pg.Pool } = {}) =>
  listening(new PostgresBackend({ ...(more.pool ? { pool: more.pool } : { connectionString: PG_URL }), schema }));

test.before.each(async (context) => {
  context.schema = freshSchema('pgfts');
  context.backend = await open(context.schema);
  context.store = new Store({ backend: context.backend });
  context.scan = new Store({ backend: new InMemoryBackend() });
});
test.after.each(async ({ store, scan, schema }) => {
  await store.close();
  await scan.close();
  await dropSchema(schema);
});

/** Asserts the index answers `texts` as the scan does, its statistics too. */
async function sameAnswers(context: Context, texts: readonly string[], options?: PairSearchOptions): Promise<number> {
  if (options === undefined) await sameStats(context, texts.slice(0, 10));
  return sameSearches(context, texts, options);
}

/** See src/testing/search-data.ts: @returns how many records the index left unjudged. */
async function sameStats(context: Context, texts: readonly string[]): Promise<number> {
  return (await sameIndexStats(context, texts)).unjudged;
}

/** How many stored objects the index cannot read (shared references): those, and only those, it leaves unjudged when this backend wrote everything. */
async function unreadable(context: Context): Promise<number> {
  return (await context.scan.find(SearchDoc)).filter((doc) => doc.extra !== undefined).length;
}

/** Asserts the backend's own writes left every readable object judged. */
async function allJudged(context: Context, step: string): Promise<void> {
  assert.is(await sameStats(context, ['milk']), await unreadable(context), `unjudged after ${step}`);
}

/** The plan of the matching rows' statement, with sequential scans off (so only a usable index avoids one). */
async function matchPlan(context: Context, text: string): Promise<string> {
  const { sql, values } = context.backend.searchStatements(SearchDoc.typeName, toSearch(text, undefined, SearchDoc.searchable, SearchDoc.typeName).terms);
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
  const { rows } = await adminPool().query<{ id: string; judged: boolean }>(`SELECT id, body IS NOT NULL AS judged FROM "${schema}"."objects_search" WHERE type = '${SearchDoc.typeName}'`);
  return new Map(rows.map((row) => [row.id, row.judged]));
}

test('a search of the searchable fields is served by the GIN index: its plan', async (context) => {
  await saveBoth(context, [...docs(seededRandom(1), 2000), ...['a', 'b', 'c'].map((id) => Object.assign(new SearchDoc(id), { title: 'a rare word', body: 'milk' }))]);
  assert.is((await context.store.search(SearchDoc, 'rare')).length, 3);
  // Words a few documents hold (the planner rightly reads all the type's rows for one in five).
  for (const text of ['rare', 'rar*', '"rare word"', 'milk rare', 'nowhere']) {
    const plan = await matchPlan(context, text);
    assert.match(plan, /Bitmap Index Scan on objects_s[0-9a-f]{8}_gin/, plan);
  }
});

test('every object has one search row; only those with shared references (which the index cannot read) are unjudged', async (context) => {
  await saveBoth(context, docs(seededRandom(2), 400));
  await context.store.search(SearchDoc, 'milk');
  const rows = await searchRows(context.schema);
  assert.is(rows.size, 400);
  const unjudged = [...rows].filter(([, judged]) => !judged).map(([id]) => id);
  const shared = (await context.scan.find(SearchDoc)).filter((doc) => doc.extra !== undefined).map((doc) => doc.id);
  assert.ok(shared.length > 0, 'the generated documents have shared references');
  assert.equal(unjudged.sort(), shared.sort());
});

test('every write path of the backend writes its tokens in its own statement: saves, batches, checked saves, deletes, deleteMany, transactions (rolled back too), puts, imports and clear leave no readable object unjudged', async (context) => {
  const next = seededRandom(6);
  await saveBoth(context, docs(next, 200));
  await allJudged(context, 'saves before the index');
  await saveBoth(context, docs(next, 60));
  for (const doc of docs(next, 5, 'one')) await saveBoth(context, [doc]);
  for (const id of ['d60', 'd61', 'd62', 'd150']) {
    await context.store.delete(SearchDoc, id);
    await context.scan.delete(SearchDoc, id);
  }
  await allJudged(context, 'saves, a batch and deletes');
  // A checked save (expectedVersion) takes its own statement.
  const checked = await context.store.load(SearchDoc, 'd5');
  checked.title = 'milk checked';
  await context.store.save(checked, { expectedVersion: context.store.versionOf(checked) });
  await context.scan.save(Object.assign(new SearchDoc('d5'), checked));
  await allJudged(context, 'a checked save');
  const ids = ['d1', 'd2', 'd3', 'd170', 'nothing'];
  await context.backend.deleteMany(SearchDoc.typeName, ids);
  for (const id of ids) await context.scan.delete(SearchDoc, id);
  await allJudged(context, 'deleteMany');
  const inTx = docs(next, 10, 't');
  for (const store of [context.store, context.scan]) {
    await store.transaction(async (tx) => {
      await tx.saveMany(inTx.map((doc) => Object.assign(new SearchDoc(doc.id), doc)));
      const mine = await tx.load(SearchDoc, 't0');
      mine.body = 'milk in a transaction';
      await tx.save(mine, { expectedVersion: 1 });
      await tx.delete(SearchDoc, 'd4');
    });
    await store
      .transaction(async (tx) => {
        await tx.save(Object.assign(new SearchDoc('gone'), { title: 'milk' }));
        await tx.save(Object.assign(new SearchDoc('d7'), { title: 'milk' }));
        throw new Error('roll back');
      })
      .catch(() => undefined);
  }
  await allJudged(context, 'transactions');
  const dump = await context.scan.exportData();
  const [first, ...rest] = dump.records.filter((record) => record.type === SearchDoc.typeName).slice(0, 30);
  for (const backend of [context.backend, context.scan.backend]) {
    await backend.put({ ...first!, content: first!.content.replace('"title":"', '"title":"milk put ') });
    await backend.putMany(rest.map((record) => ({ ...record, id: `p${record.id}` })));
  }
  context.scan.cache.clear(); // written under its cache
  await allJudged(context, 'put and putMany');
  await context.store.importData(await context.scan.exportData(), { mode: 'replace' });
  await allJudged(context, 'an import');
  await context.store.clear();
  await context.scan.clear();
  assert.is((await searchRows(context.schema)).size, 0);
  await saveBoth(context, docs(next, 50));
  await allJudged(context, 'clear and saves');
});

test('writes that do not maintain the index (a backend opened before it, SQL) leave their objects unjudged: answers still exact; a new build judges them again', async (context) => {
  // Opened before the index exists: its writes carry no tokens, as an older cuttle's.
  const unaware = await open(context.schema);
  const other = new Store({ backend: unaware });
  try {
    await saveBoth(context, docs(seededRandom(20), 150));
    await sameAnswers(context, queries(21, 10));
    await allJudged(context, 'saves');
    // Saves, a batch and a delete by the unaware backend; an update, an insert and a delete in SQL.
    const changed = docs(seededRandom(22), 12);
    await other.saveMany(changed.slice(0, 8));
    for (const doc of changed.slice(8)) await other.save(doc);
    await other.delete(SearchDoc, 'd20');
    for (const doc of changed) await context.scan.save(Object.assign(new SearchDoc(doc.id), doc));
    await context.scan.delete(SearchDoc, 'd20');
    const table = `"${context.schema}"."objects"`;
    await adminPool().query(`UPDATE ${table} SET content = replace(content, '"title":"', '"title":"milk sql '), version = version + 1 WHERE type = '${SearchDoc.typeName}' AND id IN ('d30', 'd31')`);
    const d40 = (await context.scan.backend.load(SearchDoc.typeName, 'd40'))!;
    await adminPool().query(`INSERT INTO ${table} SELECT '${SearchDoc.typeName}', 'sql1', kind, content, 1, 0, 0 FROM ${table} WHERE type = '${SearchDoc.typeName}' AND id = 'd40'`);
    await adminPool().query(`DELETE FROM ${table} WHERE type = '${SearchDoc.typeName}' AND id = 'd41'`);
    for (const id of ['d30', 'd31']) {
      const record = (await context.scan.backend.load(SearchDoc.typeName, id))!;
      await context.scan.backend.put({ ...record, content: record.content.replace('"title":"', '"title":"milk sql ') });
    }
    await context.scan.backend.put({ ...d40, id: 'sql1' });
    context.scan.cache.clear(); // written under its cache
    await context.scan.delete(SearchDoc, 'd41');
    // The store gets them whole and tokenizes them: answers and statistics as the scan's.
    const unjudged = await sameStats(context, queries(23, 10));
    await sameAnswers(context, ['milk', 'milk sql', '"milk sql"', ...queries(24, 80)]);
    const written = new Set([...changed.map((doc) => doc.id), 'd30', 'd31', 'sql1']);
    const readable = (await context.scan.find(SearchDoc)).filter((doc) => written.has(doc.id) && doc.extra === undefined).length;
    assert.is(unjudged, (await unreadable(context)) + readable, 'unjudged: the unreadable ones, and the readable ones written around the index');
    // Every object still has exactly one row.
    assert.is((await searchRows(context.schema)).size, (await context.scan.find(SearchDoc)).length);
    // A store's first search builds (here: keeps) the index and judges those rows again.
    const fresh = new Store({ backend: await open(context.schema) });
    await fresh.search(SearchDoc, 'milk');
    await fresh.close();
    await allJudged(context, 'a new build');
    await sameAnswers(context, ['milk', ...queries(25, 40)]);
  } finally {
    await other.close();
  }
});

test('the statistics, a row per change, are added up into one by a search that sums many, and stay exact', async (context) => {
  await saveBoth(context, docs(seededRandom(40), 100));
  await context.store.search(SearchDoc, 'milk');
  // One row of statistics per save: more than a search sums before it adds them up.
  for (const doc of docs(seededRandom(41), 1100, 's')) await saveBoth(context, [doc]);
  const statsRows = async () => Number((await adminPool().query(`SELECT count(*) AS n FROM "${context.schema}"."objects_search_stats" WHERE type = '${SearchDoc.typeName}'`)).rows[0].n);
  assert.ok((await statsRows()) > 1000, `${await statsRows()} rows of statistics`);
  await allJudged(context, 'many saves');
  assert.is(await statsRows(), 1);
  await sameAnswers(context, ['milk', ...queries(42, 20)]);
  for (const id of ['s1', 's2', 'd3']) {
    await context.store.delete(SearchDoc, id);
    await context.scan.delete(SearchDoc, id);
  }
  await sameAnswers(context, ['milk', ...queries(43, 20)]);
});

test('TRUNCATE of the objects table empties the search rows', async (context) => {
  await saveBoth(context, docs(seededRandom(30), 40));
  assert.ok((await context.store.search(SearchDoc, 'milk')).length > 0);
  await adminPool().query(`TRUNCATE "${context.schema}"."objects"`);
  await context.scan.clear();
  assert.is((await searchRows(context.schema)).size, 0);
  await sameAnswers(context, ['milk', 'caf*']);
});

test('namespaces sharing a table have their rows under their own type', async (context) => {
  const other = new Store({ backend: context.backend, namespace: 'billing' });
  await context.store.save(Object.assign(new SearchDoc('a'), { title: 'milk' }));
  await other.save(Object.assign(new SearchDoc('b'), { title: 'milk chocolate' }));
  await other.save(Object.assign(new SearchDoc('c'), { title: 'milk' }));
  assert.equal((await context.store.search(SearchDoc, 'milk')).map((doc) => doc.id), ['a']);
  assert.equal((await other.search(SearchDoc, 'milk')).map((doc) => doc.id), ['c', 'b']);
  const { rows } = await adminPool().query(`SELECT type, count(*)::int AS n FROM "${context.schema}"."objects_search" GROUP BY type ORDER BY type`);
  assert.equal(rows, [{ type: SearchDoc.typeName, n: 1 }, { type: `billing:${SearchDoc.typeName}`, n: 2 }]);
});

test('a backend still on an index another backend rebuilt (the class\'s new fields or version) writes no tokens for it, and gets no answer from it', async (context) => {
  await context.store.save(Object.assign(new SearchDoc('a'), { title: 'milk', body: 'cafe' }));
  assert.equal((await context.store.search(SearchDoc, 'cafe')).map((doc) => doc.id), ['a']);
  const newer = new Store({ backend: await open(context.schema) });
  try {
    assert.equal((await newer.search(NarrowSearchDoc, 'cafe')).map((doc) => doc.id), []);
    assert.equal((await newer.search(NarrowSearchDoc, 'milk')).map((doc) => doc.id), ['a']);
    await newer.save(Object.assign(new NarrowSearchDoc('b'), { title: 'milk tea' }));
    // The first backend still thinks SearchDoc is indexed at version 1: its save must not write version 1 tokens.
    await context.store.save(Object.assign(new SearchDoc('c'), { title: 'milk', body: 'cafe' }));
    const rows = await searchRows(context.schema);
    assert.is(rows.get('c'), false, 'a row written for the old index');
    // c is unjudged, read by the store as Narrow reads it; a and c are one token long, b two.
    assert.equal((await newer.search(NarrowSearchDoc, 'milk')).map((doc) => doc.id), ['a', 'c', 'b']);
    assert.equal((await newer.search(NarrowSearchDoc, 'cafe')).map((doc) => doc.id), []);
    // To the first backend the index is not SearchDoc's at version 1 any more: no answer from it (the store scans).
    const search = toSearch('cafe', undefined, SearchDoc.searchable, SearchDoc.typeName);
    assert.is(await context.backend.search(SearchDoc.typeName, search.fields, search.terms, 1), undefined);
  } finally {
    await newer.close();
  }
});

test('a class without searchable saves with its one statement, a searchable one with one statement too', async (context) => {
  class Plain extends Serializable {
    static override typeName = 'Plain';
    title = '';
  }
  await context.store.save(Object.assign(new SearchDoc('a'), { title: 'milk' }));
  await context.store.search(SearchDoc, 'milk');
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
    await store.save(Object.assign(new SearchDoc('b'), { title: 'milk' }));
    assert.equal(queries.filter((name) => !name.includes('notify')), [`cuttle ${backend.table} write`, `cuttle ${backend.table} writeSearch`]);
    assert.equal([...(await searchRows(context.schema)).keys()].sort(), ['a', 'b']);
  } finally {
    await store.close();
    await pool.end();
  }
});

test.run();
