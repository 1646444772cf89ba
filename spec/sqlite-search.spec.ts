// SQLite's full-text index (sqlite-search.ts), what only SQLite has: searches served by FTS5 (the
// plan), its tables, which records it leaves unjudged, and a read-only store. What every index
// must do (answers equal to the scan's through every write path, namespaces, reopening, a class's
// new fields) is the conformance suite's full-text index section (src/testing/search-index.ts),
// which spec/sqlite.spec.ts runs.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InMemoryBackend } from '../src/backends/memory.js';
import { SqliteBackend } from '../src/backends/sqlite.js';
import { toSearch } from '../src/query/search.js';
import { Serializable, Store } from '../src/index.js';
import { seededRandom } from '../src/testing/random.js';
import { docs, queries, sameStats, saveBoth, SearchDoc } from '../src/testing/search-data.js';
import { tempDir } from './helpers.js';

interface Context {
  dir: ReturnType<typeof tempDir>;
  path: string;
  backend: SqliteBackend;
  store: Store;
  scan: Store;
}
const test = suite<Context>('sqlite full-text search', {} as Context);

test.before.each((context) => {
  context.dir = tempDir('cuttle-fts-');
  context.path = join(context.dir.path, 's.db');
  context.backend = new SqliteBackend({ path: context.path });
  context.store = new Store({ backend: context.backend });
  context.scan = new Store({ backend: new InMemoryBackend() });
});
test.after.each(async ({ store, scan, dir }) => {
  await store.close();
  await scan.close();
  dir.remove();
});

test('a search of the searchable fields is served by FTS5: its plan', async (context) => {
  await saveBoth(context, docs(seededRandom(1), 100));
  assert.ok((await context.store.search(SearchDoc, 'milk')).length > 0);
  const plan = context.backend.explainSearch(SearchDoc.typeName, toSearch('milk caf*', undefined, SearchDoc.searchable, SearchDoc.typeName).terms).join('\n');
  assert.match(plan, new RegExp(`SCAN "?cuttle_search_fts_${SearchDoc.typeName}"? VIRTUAL TABLE INDEX 0:M`));
});

test('the tables are beside objects; only records with shared references are left unjudged', async (context) => {
  await saveBoth(context, docs(seededRandom(13), 100));
  const { unjudged } = await sameStats(context, queries(14, 3));
  const shared = (await context.scan.find(SearchDoc)).filter((doc) => doc.extra !== undefined).length;
  assert.ok(shared > 0, 'the generated documents have shared references');
  assert.is(unjudged, shared);
  // The tables are beside `objects`, which keeps only its own indexes.
  const db = new Database(context.path, { readonly: true });
  const names = db.prepare(`SELECT name FROM sqlite_schema WHERE name LIKE 'cuttle_search%' AND type = 'table'`).pluck().all();
  db.close();
  assert.ok(names.includes(`cuttle_search_fts_${SearchDoc.typeName}`) && names.includes(`cuttle_search_docs_${SearchDoc.typeName}`), names.join());
});

test('a read-only store whose class has another version than the index scans, reading records as the class upgrades them', async (context) => {
  await context.store.save(Object.assign(new SearchDoc('a'), { title: 'milk' }));
  assert.equal((await context.store.search(SearchDoc, 'milk')).map((doc) => doc.id), ['a']);
  await context.store.close();
  class Renamed extends Serializable {
    static override typeName = SearchDoc.typeName;
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
