// SQLite's query compiler: index use proven by the query plan, indexes built over stored rows and
// kept by later saves, records SQL cannot judge left to the evaluator, no index cost for others.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compileQuery } from '../src/backends/sqlite-query.js';
import { SqliteBackend } from '../src/backends/sqlite.js';
import { InMemoryBackend, InvalidQueryError, Serializable, Store, toQuery, type FindOptions } from '../src/index.js';
import { rejects, tempDir } from './helpers.js';

class Task extends Serializable {
  static override typeName = 'Task';
  static indexes = ['priority', 'owner.name'];
  priority: unknown = 0;
  title = '';
  owner: { name: string } = { name: '' };
  due?: Date;
}
class Plain extends Serializable {
  static override typeName = 'Plain';
  n = 0;
}

interface Context {
  dir: ReturnType<typeof tempDir>;
  backend: SqliteBackend;
  store: Store;
}
const test = suite<Context>('sqlite queries', {} as Context);
test.before.each((context) => {
  context.dir = tempDir('cuttle-sqlq-');
  context.backend = new SqliteBackend({ path: join(context.dir.path, 'q.db') });
  context.store = new Store({ backend: context.backend });
});
test.after.each(async ({ store, dir }) => {
  await store.close();
  dir.remove();
});

const plan = (backend: SqliteBackend, options: FindOptions) => backend.explain('Task', toQuery(options, () => undefined))?.join('\n') ?? 'not compiled';
const tasks = (count: number) => Array.from({ length: count }, (_, i) => Object.assign(new Task(`t${i}`), { priority: i % 10, title: `task ${i}`, owner: { name: `o${i % 3}` } }));

test('an equality, a range and a sorted top-N on a declared index use it (EXPLAIN QUERY PLAN)', async ({ backend, store }) => {
  await store.saveMany(tasks(200));
  assert.is((await store.find(Task, { where: { priority: 3 } })).length, 20);
  assert.match(plan(backend, { where: { priority: 3 } }), /USING INDEX "?cuttle_number_Task_priority"? \(type=\? AND <expr>=\?\)/);
  assert.match(plan(backend, { where: { priority: { $gt: 7 } } }), /USING INDEX "?cuttle_number_Task_priority"? \(type=\? AND <expr>>\?\)/);
  assert.match(plan(backend, { where: { 'owner.name': 'o1' } }), /USING INDEX "?cuttle_text_Task_owner\.name"?/);
  // Without an index on title, the type's rows are scanned through the primary key.
  assert.not.match(plan(backend, { where: { title: 'x' } }), /cuttle_(number|text)/);
  // And it is one pass over them, telling the rows for the evaluator apart as it goes, not a pass to find those first.
  const unindexed = plan(backend, { where: { title: 'x' } });
  assert.is(unindexed.split('\n').filter((step) => /^(SCAN|SEARCH) objects/.test(step)).length, 1, unindexed);
  assert.equal((await store.find(Task, { where: { title: 'task 7' } })).map((task) => task.id), ['t7']);
  assert.is(await store.count(Task, { where: { title: { $startsWith: 'task 1' } } }), 111);
});

test('an indexed count reads the index alone while no record is annotated at its path, and leaves out one that is (EXPLAIN QUERY PLAN)', async ({ backend, store }) => {
  await store.saveMany(tasks(200));
  const where = { priority: 3 };
  assert.is(await store.count(Task, { where }), 20);
  const counted = (where: FindOptions['where']) => backend.explain('Task', toQuery({ where }, () => undefined), { count: true })!.join('\n');
  assert.match(counted(where), /USING COVERING INDEX "?cuttle_number_Task_priority"?/);
  assert.match(counted({ 'owner.name': 'o1' }), /USING COVERING INDEX "?cuttle_text_Task_owner\.name"?/);
  // A Date is stored as its ISO string, annotated: the string query must not match it, though its JSON is that string.
  const date = new Date(0);
  await store.save(Object.assign(new Task('dated'), { priority: 3, title: 'dated', owner: { name: date } }));
  assert.is(await store.count(Task, { where: { 'owner.name': date.toISOString() } }), 0);
  assert.equal((await store.find(Task, { where: { 'owner.name': date.toISOString() } })).map((task) => task.id), []);
  assert.is(await store.count(Task, { where: { 'owner.name': date } }), 1);
  assert.is(await store.count(Task, { where }), 21);
  assert.not.match(counted({ 'owner.name': 'o1' }), /COVERING/, 'with a record annotated at a path the query reads, each candidate is read to leave such records out');
  assert.match(counted(where), /USING COVERING INDEX "?cuttle_number_Task_priority"?/, 'a path without annotated records is still served by its index alone');
});

test('a sort on an indexed path is served by its index in either direction, and the rows left to the evaluator are found through the annotated-rows indexes (EXPLAIN QUERY PLAN)', async ({ backend, store }) => {
  await store.saveMany(tasks(2000));
  const top = { where: { 'owner.name': 'o1' }, sort: { priority: -1 }, limit: 5 } as const;
  await store.find(Task, top); // the first query of a class makes its declared indexes
  for (const [options, index] of [[top, 'desc'], [{ ...top, sort: { priority: 1 } }, 'asc']] as const) {
    const steps = plan(backend, options);
    assert.match(steps, new RegExp(`USING INDEX "?cuttle_${index}_Task_priority"?`), steps);
    assert.not.match(steps, /TEMP B-TREE/, 'no sort of all the matches');
  }
  // Both paths' annotated rows: one seek in each path's small index, not a scan of the type.
  const unchecked = compileQuery('Task', toQuery(top, () => undefined), 1, false)!.sql.unchecked;
  const steps = (new Database(backend.path, { readonly: true }).prepare(`EXPLAIN QUERY PLAN ${unchecked}`).all() as Array<{ detail: string }>).map((row) => row.detail).join('\n');
  assert.match(steps, /USING INDEX "?cuttle_meta_Task_priority"?/);
  assert.match(steps, /USING INDEX "?cuttle_meta_Task_owner\.name"?/);
  // And the rows of other type versions (for this version-1 class, the stamped ones): a seek in the type's index of them.
  assert.match(steps, /USING INDEX "?cuttle_stamped_Task"?/);
  assert.not.match(steps, /SCAN/, steps);
  // The answers are the evaluator's (the memory backend scans with it): the same objects in the same order, with a rich value among them.
  const rich = Object.assign(new Task('rich'), { priority: 7n, owner: { name: 'o1' } });
  await store.save(rich);
  const reference = new Store({ backend: new InMemoryBackend() });
  await reference.saveMany([...tasks(2000), rich]);
  for (const options of [top, { ...top, sort: { priority: 1 } }, { ...top, limit: 40 }] as FindOptions[]) {
    const ids = async (on: Store) => (await on.find(Task, options)).map((t) => t.id);
    assert.equal(await ids(store), await ids(reference), JSON.stringify(options));
  }
  await reference.close();
});

test('Store.index builds the index over rows already stored, and later saves keep it', async ({ backend, store }) => {
  await store.saveMany(Array.from({ length: 50 }, (_, i) => Object.assign(new Plain(`p${i}`), { n: i })));
  const query = toQuery({ where: { n: { $gte: 45 } } }, () => undefined);
  assert.not.match(backend.explain('Plain', query)!.join('\n'), /cuttle_number_Plain_n/);
  await store.index(Plain, 'n');
  assert.match(backend.explain('Plain', query)!.join('\n'), /cuttle_number_Plain_n/);
  await store.save(Object.assign(new Plain('late'), { n: 99 }));
  assert.equal((await store.find(Plain, { where: { n: { $gte: 45 } }, sort: { n: -1 } })).map((p) => p.id), ['late', 'p49', 'p48', 'p47', 'p46', 'p45']);
  await store.index(Plain, 'n'); // idempotent
  await rejects(() => store.index(Plain, 'tags.0'), InvalidQueryError, /tags\.0/);
});

test('a file with query indexes opens again, and its indexes still serve queries (bug: the schema check took them for a foreign index)', async ({ store, dir }) => {
  await store.saveMany(tasks(30));
  await store.index(Plain, 'n');
  await store.close();
  const again = new SqliteBackend({ path: join(dir.path, 'q.db') });
  const reopened = new Store({ backend: again });
  try {
    assert.is((await reopened.find(Task, { where: { priority: 3 } })).length, 3);
    assert.match(plan(again, { where: { priority: 3 } }), /cuttle_number_Task_priority/);
    assert.match(again.explain('Plain', toQuery({ where: { n: 1 } }, () => undefined))!.join('\n'), /cuttle_number_Plain_n/);
  } finally {
    await reopened.close();
  }
});

test('a record whose indexed field holds a rich value is still found: the evaluator judges it', async ({ store }) => {
  await store.saveMany(tasks(30));
  const odd = Object.assign(new Task('odd'), { priority: 5n, due: new Date(0) });
  const inf = Object.assign(new Task('inf'), { priority: Infinity });
  await store.saveMany([odd, inf]);
  assert.equal((await store.find(Task, { where: { priority: { $gt: 8 } } })).map((t) => t.id), ['inf', 't19', 't29', 't9']);
  assert.equal((await store.find(Task, { where: { priority: { $gt: 4n } } })).map((t) => t.id), ['odd']);
  assert.is(await store.count(Task, { where: { priority: { $gte: 9 } } }), 4);
  const sorted = await store.find(Task, { sort: { priority: -1 }, limit: 3 });
  assert.equal(sorted.map((t) => t.id), ['odd', 'inf', 't19']);
});

test('indexes are partial to their type: a type without one stores rows without json work in the index', async ({ backend, store }) => {
  await store.find(Task, {});
  await store.save(Object.assign(new Plain('x'), { n: 1 }));
  backend.explain('Task', toQuery({}, () => undefined));
  await store.close();
  const db = new Database(backend.path, { readonly: true });
  try {
    const indexes = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'cuttle_%' ORDER BY name`).all() as Array<{ name: string; sql: string }>;
    assert.equal(indexes.map((index) => index.name), ['cuttle_asc_Task_owner.name', 'cuttle_asc_Task_priority', 'cuttle_desc_Task_owner.name', 'cuttle_desc_Task_priority', 'cuttle_meta_Task_owner', 'cuttle_meta_Task_owner.name', 'cuttle_meta_Task_priority', 'cuttle_number_Task_owner.name', 'cuttle_number_Task_priority', 'cuttle_stamped_Task', 'cuttle_text_Task_owner.name', 'cuttle_text_Task_priority', 'cuttle_unstamped_Task']);
    for (const index of indexes) assert.match(index.sql, /WHERE type = 'Task'( AND .* IS NOT NULL| AND (NOT )?\(substr\(content, 1, 15\) = '\{"typeVersion":'\))?$/);
  } finally {
    db.close();
  }
});

test('a query ordered by id reads the ids and versions from the index alone, then only the records its store does not hold (EXPLAIN QUERY PLAN)', async ({ backend, store }) => {
  await store.saveMany(tasks(200));
  await store.index(Task, 'priority');
  const query = toQuery({ where: { priority: { $gte: 8 } } }, () => undefined);
  const { sql, params } = compileQuery('Task', query, 1, false)!;
  const db = new Database(backend.path, { readonly: true });
  try {
    const steps = (db.prepare(`EXPLAIN QUERY PLAN ${sql.keys}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail).join('\n');
    assert.match(steps, /USING COVERING INDEX "?cuttle_number_Task_priority"?/, steps);
  } finally {
    db.close();
  }
  // What the backend sends: held records for those the store caches at the version stored, whole ones for the rest.
  const answered = async (held: (id: string, version: number) => boolean) => {
    const answer = await backend.find('Task', query, { typeVersion: 1, held });
    return answer.records.map((record) => ('held' in record ? `${record.id} held` : `${record.id} ${record.content.length > 0 ? 'whole' : 'empty'}`));
  };
  const ids = (await store.find(Task, { where: { priority: { $gte: 8 } } })).map((task) => task.id);
  assert.is(ids.length, 40);
  const first = new Set(ids.slice(0, 30));
  assert.equal(await answered((id) => first.has(id)), ids.map((id) => (first.has(id) ? `${id} held` : `${id} whole`)));
  assert.equal(await answered((id, version) => first.has(id) && version === 2), ids.map((id) => `${id} whole`), 'held at another version: whole');
  // Holding fewer than half, the query's own statement reads them all whole (cheaper than reading most of them by id).
  assert.equal(await answered((id) => id === ids[0]), ids.map((id) => `${id} whole`));
  // The store's finds through it give the cached instances, and objects for the others.
  const cached = await store.load(Task, ids[5]!);
  const fresh = new Store({ backend });
  assert.is((await store.find(Task, { where: { priority: { $gte: 8 } } }))[5], cached);
  assert.equal((await fresh.find(Task, { where: { priority: { $gte: 8 } } })).map((task) => task.id), ids);
});

test('a store that holds no object of the class asks for every record whole; once it holds some, for held records', async ({ backend, store }) => {
  await store.saveMany(tasks(20));
  const asked: string[] = [];
  const find = backend.find.bind(backend);
  backend.find = (type, query, options) => {
    asked.push(options?.held === undefined ? 'whole' : 'held');
    return find(type, query, options);
  };
  const fresh = new Store({ backend });
  await fresh.find(Task, { where: { priority: 3 } });
  await fresh.find(Task, { where: { priority: 3 } });
  assert.equal(asked, ['whole', 'held']);
});

test('an index of an older definition (number and text indexes without the version) is made again by Store.index, in place', async ({ backend, store }) => {
  await store.saveMany(tasks(50));
  await store.index(Plain, 'n');
  const db = new Database(backend.path);
  const definition = () => db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'cuttle_number_Plain_n'`).pluck().get() as string;
  try {
    const current = definition();
    assert.match(current, /, id, version\) WHERE type = 'Plain'$/);
    db.exec(`DROP INDEX "cuttle_number_Plain_n"; ${current.replace(', id, version)', ', id)')}`);
    assert.match(definition(), /, id\) WHERE type = 'Plain'$/);
    await store.save(Object.assign(new Plain('p1'), { n: 1 }));
    await store.index(Plain, 'n');
    assert.is(definition(), current);
    assert.equal((await store.find(Plain, { where: { n: 1 } })).map((plain) => plain.id), ['p1']);
  } finally {
    db.close();
  }
});

test('findEach pages skip in SQL when no row is left to the evaluator, and give every object once, in order', async ({ backend, store }) => {
  await store.saveMany(Array.from({ length: 1200 }, (_, i) => Object.assign(new Plain(`p${String(i).padStart(4, '0')}`), { n: i % 7 })));
  const answer = await backend.find('Plain', toQuery({ where: { n: { $gte: 0 } }, sort: { n: 1 }, skip: 500, limit: 500 }, () => undefined), { typeVersion: 1 });
  assert.is(answer.skipped, 500);
  assert.is(answer.records.length, 500);
  const seen: string[] = [];
  for await (const plain of store.findEach(Plain, { sort: { n: -1 } })) seen.push(plain.id);
  const expected = Array.from({ length: 1200 }, (_, i) => ({ id: `p${String(i).padStart(4, '0')}`, n: i % 7 }))
    .sort((a, b) => b.n - a.n || (a.id < b.id ? -1 : 1))
    .map((p) => p.id);
  assert.equal(seen, expected);
});

test.run();
