// SQLite's full-text index (sqlite-search.ts): searches served by FTS5 (the plan, and no scan of the
// type), answers equal to the scan's (a memory backend's) over generated texts and queries, and the
// index kept in step by saves, deletes, deleteMany, transactions, imports, namespaces and reopening.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InMemoryBackend } from '../src/backends/memory.js';
import { SqliteBackend } from '../src/backends/sqlite.js';
import { toSearch } from '../src/query/search.js';
import { Serializable, Store } from '../src/index.js';
import { tempDir } from './helpers.js';
import { countLists, Doc, docs, generatedSearches, queries, random, sameSearches, sameStats, saveBoth } from './search-data.js';

interface Context {
  dir: ReturnType<typeof tempDir>;
  path: string;
  backend: SqliteBackend;
  store: Store;
  scan: Store;
  listed: string[];
}
const test = suite<Context>('sqlite full-text search', {} as Context);

test.before.each((context) => {
  context.dir = tempDir('cuttle-fts-');
  context.path = join(context.dir.path, 's.db');
  context.backend = new SqliteBackend({ path: context.path });
  context.listed = [];
  countLists(context.backend, context.listed);
  context.store = new Store({ backend: context.backend });
  context.scan = new Store({ backend: new InMemoryBackend() });
});
test.after.each(async ({ store, scan, dir }) => {
  await store.close();
  await scan.close();
  dir.remove();
});

/** Asserts the index answers `texts` as the scan does, its statistics too (most records judged by the index; the few with shared references left to the store). */
async function sameAnswers(context: Context, texts: readonly string[], options?: { fields?: string[]; limit?: number }): Promise<number> {
  if (options === undefined) {
    const { unjudged, documents } = await sameStats(context, texts.slice(0, 10));
    assert.ok((unjudged > 0 || documents < 100) && unjudged < documents / 5, `${unjudged} of ${documents} unjudged`);
  }
  return sameSearches(context, texts, options);
}

test('a search of the searchable fields is served by FTS5: its plan, and no listing of the type', async (context) => {
  await saveBoth(context, docs(random(1), 100));
  const before = context.listed.length;
  assert.ok((await context.store.search(Doc, 'milk')).length > 0);
  assert.is(context.listed.length, before, 'the search listed the type: it scanned');
  const plan = context.backend.explainSearch('Doc', toSearch('milk caf*', undefined, Doc.searchable, 'Doc').terms).join('\n');
  assert.match(plan, /SCAN "?cuttle_search_fts_Doc"? VIRTUAL TABLE INDEX 0:M/);
  // Other fields than the index's: the scan.
  await context.store.search(Doc, 'milk', { fields: ['title'] });
  assert.is(context.listed.length, before + 1);
});

test('answers equal the scan over 400 generated texts and 300 queries (unicode, accents, prefixes, phrases, limits)', async (context) => {
  await generatedSearches(context, (texts, options) => sameAnswers(context, texts, options));
});

test('the index is built over rows stored before it, and kept by saves, deletes, deleteMany, transactions and imports', async (context) => {
  const next = random(6);
  await saveBoth(context, docs(next, 200));
  await sameAnswers(context, queries(7, 40));
  // Re-save with new texts, delete, delete and save again.
  const changed = docs(next, 60);
  await saveBoth(context, changed);
  for (const id of ['d60', 'd61', 'd62', 'd150']) {
    await context.store.delete(Doc, id);
    await context.scan.delete(Doc, id);
  }
  await saveBoth(context, [Object.assign(new Doc('d61'), { title: 'milk milk milk', body: 'café' })]);
  await sameAnswers(context, queries(8, 60));
  const ids = ['d1', 'd2', 'd3', 'd170', 'nothing'];
  await context.backend.deleteMany('Doc', ids);
  for (const id of ids) await context.scan.delete(Doc, id);
  await sameAnswers(context, queries(9, 60));
  const inTx = docs(next, 10, 't');
  for (const store of [context.store, context.scan]) {
    await store.transaction(async (tx) => {
      await tx.saveMany(inTx.map((doc) => Object.assign(new Doc(doc.id), doc)));
      await tx.delete(Doc, 'd4');
    });
    // A rolled-back transaction leaves the index as it was.
    await store
      .transaction(async (tx) => {
        await tx.save(Object.assign(new Doc('gone'), { title: 'milk' }));
        throw new Error('roll back');
      })
      .catch(() => undefined);
  }
  await sameAnswers(context, ['milk', ...queries(10, 60)]);
  const dump = await context.scan.exportData();
  await context.store.importData(dump, { mode: 'replace' });
  await sameAnswers(context, queries(11, 60));
  await context.store.clear();
  await context.scan.clear();
  assert.equal(await context.store.search(Doc, 'milk'), []);
  await saveBoth(context, docs(next, 50));
  await sameAnswers(context, queries(12, 40));
  assert.equal(context.listed, []);
});

test('a file with a search index opens again, and its index is still in step', async (context) => {
  await saveBoth(context, docs(random(13), 100));
  await sameAnswers(context, queries(14, 10));
  await context.store.close();
  context.backend = new SqliteBackend({ path: context.path });
  countLists(context.backend, context.listed);
  context.store = new Store({ backend: context.backend });
  await saveBoth(context, docs(random(15), 30, 'n'));
  await context.store.delete(Doc, 'd5');
  await context.scan.delete(Doc, 'd5');
  await sameAnswers(context, queries(16, 60));
  assert.equal(context.listed, []);
  // The tables are beside `objects`, which keeps only its own indexes.
  const db = new Database(context.path, { readonly: true });
  const names = db.prepare(`SELECT name FROM sqlite_schema WHERE name LIKE 'cuttle_search%' AND type = 'table'`).pluck().all();
  db.close();
  assert.ok(names.includes('cuttle_search_fts_Doc') && names.includes('cuttle_search_docs_Doc'), names.join());
});

test('namespaces sharing a file have an index each', async (context) => {
  const other = new Store({ backend: context.backend, namespace: 'billing' });
  await context.store.save(Object.assign(new Doc('a'), { title: 'milk' }));
  await other.save(Object.assign(new Doc('b'), { title: 'milk chocolate' }));
  await other.save(Object.assign(new Doc('c'), { title: 'milk' }));
  const before = context.listed.length;
  assert.equal((await context.store.search(Doc, 'milk')).map((doc) => doc.id), ['a']);
  assert.equal((await other.search(Doc, 'milk')).map((doc) => doc.id), ['c', 'b']);
  await other.delete(Doc, 'c');
  assert.equal((await other.search(Doc, 'mil*')).map((doc) => doc.id), ['b']);
  assert.is(context.listed.length, before);
});

test('a class whose searchable fields or version change gets its index rebuilt', async (context) => {
  await context.store.save(Object.assign(new Doc('a'), { title: 'milk', body: 'cafe' }));
  assert.equal((await context.store.search(Doc, 'cafe')).map((doc) => doc.id), ['a']);
  await context.store.close();
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
  context.backend = new SqliteBackend({ path: context.path });
  context.listed.length = 0;
  countLists(context.backend, context.listed);
  context.store = new Store({ backend: context.backend });
  assert.equal((await context.store.search(Narrow, 'cafe')).map((doc) => doc.id), []);
  assert.equal((await context.store.search(Narrow, 'milk')).map((doc) => doc.id), ['a']);
  await context.store.save(Object.assign(new Narrow('b'), { title: 'milk tea' }));
  assert.equal((await context.store.search(Narrow, 'milk')).map((doc) => doc.id), ['a', 'b']);
  assert.equal(context.listed, []);
});

test('a read-only store whose class has another version than the index scans, reading records as the class upgrades them', async (context) => {
  await context.store.save(Object.assign(new Doc('a'), { title: 'milk' }));
  assert.equal((await context.store.search(Doc, 'milk')).map((doc) => doc.id), ['a']);
  await context.store.close();
  class Renamed extends Serializable {
    static override typeName = 'Doc';
    static searchable = ['title', 'body', 'tags'];
    static version = 2;
    static upgrade(data: Record<string, unknown>) {
      return { ...data, title: 'tea' };
    }
    title = '';
  }
  context.store = new Store({ backend: new SqliteBackend({ path: context.path, readonly: true }) });
  assert.equal((await context.store.search(Renamed, 'tea')).map((doc) => doc.id), ['a']);
  assert.equal((await context.store.search(Renamed, 'milk')).map((doc) => doc.id), []);
});

test.run();
