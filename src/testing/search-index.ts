// A backend's full-text index: part of the conformance suite (backendSuite calls
// searchIndexSuite), on a backend with capabilities.search (`{ search: true }`). Whatever the
// index keeps, the store ranks from what the backend's `search` answers; so every answer must be
// the scan's (a memory store's: the reference ranking of src/query/search.ts), ids in order, and
// the answer's statistics, matches, texts and token counts those of the objects stored. Checked
// over generated documents with tricky words (search-data.ts), through every write path (save,
// saveMany, a checked save, delete, deleteMany, put, putMany, transactions committed and rolled
// back, imports, clear), in namespaces, across a change of the class's fields or version, and
// after reopening when the suite can. The backends' own specs keep what only they have (FTS5
// tables and plans on SQLite, tsvector rows and GIN plans on PostgreSQL).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InMemoryBackend, Store, type StorageBackend } from '../core.js';
import { rejects } from './assert.js';
import type { BackendSuiteOptions } from './options.js';
import { seededRandom } from './random.js';
import { countLists, deleteBoth, docs, generatedSearches, queries, sameSearches, sameStats, saveBoth, NarrowSearchDoc, SearchDoc, type PairSearchOptions } from './search-data.js';

interface Context {
  backend: StorageBackend;
  /** A store on `backend`. */
  store: Store;
  /** A store on a memory backend, which scans: the expected answers. */
  scan: Store;
  /** The types `backend` listed since the test began: a search the index answers lists none. */
  listed: string[];
}

const ids = async (store: Store, text: string) => (await store.search(SearchDoc, text)).map((doc) => doc.id);

export function searchIndexSuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions = {}): void {
  if (!options.search) return;
  const test = suite<Context>(`conformance: ${name} full-text index (capabilities.search)`, {} as Context);
  test.before.each(async (context) => {
    context.backend = await makeBackend();
    context.listed = [];
    countLists(context.backend, context.listed);
    context.store = new Store({ backend: context.backend });
    context.scan = new Store({ backend: new InMemoryBackend() });
  });
  test.after.each(async ({ store, backend, scan }) => {
    await store.close();
    await backend.close();
    await scan.close();
    await options.teardown?.();
  });

  /**
   * Asserts the index answers `texts` as the scan does; without options, its statistics too, and
   * that it judges most documents itself (a backend that leaves every record to the store answers
   * right, but has no index: about one document in twenty has shared references here).
   */
  async function sameAnswers(context: Context, texts: readonly string[], options?: PairSearchOptions): Promise<number> {
    if (options === undefined) {
      const { unjudged, documents } = await sameStats(context, texts.slice(0, 10));
      assert.ok(unjudged <= Math.max(5, documents / 5), `the index left ${unjudged} of ${documents} documents unjudged: it should judge most`);
    }
    return sameSearches(context, texts, options);
  }

  test('the backend declares search, with createSearchIndex and search', ({ backend }) => {
    assert.is(backend.capabilities.search, true, 'capabilities.search');
    assert.type(backend.createSearchIndex, 'function', 'createSearchIndex');
    assert.type(backend.search, 'function', 'search');
  });

  test('a search of the searchable fields is answered by the index (no listing of the type), one of other fields by the scan', async (context) => {
    await saveBoth(context, docs(seededRandom(1), 100));
    const milk = await ids(context.store, 'milk');
    assert.equal(milk, await ids(context.scan, 'milk'), 'search "milk": the index\'s answer (actual) is not the scan\'s (expected)');
    assert.ok(milk.length > 0, 'some document holds milk');
    assert.equal(context.listed, [], 'the search listed the type: it scanned');
    // Fields in another order are the same index; other fields have none.
    await context.store.search(SearchDoc, 'milk', { fields: ['tags', 'title', 'body'] });
    assert.equal(context.listed, [], 'a search of the searchable fields in another order listed the type: it scanned');
    await context.store.search(SearchDoc, 'milk', { fields: ['title'] });
    assert.equal(context.listed, [SearchDoc.typeName], 'a search of other fields than the index\'s scans (lists the type once)');
    const search = context.backend.search!;
    assert.is(await search.call(context.backend, SearchDoc.typeName, [['title']], [{ kind: 'word', token: 'milk' }], 1), undefined, 'search() of fields no index covers');
    assert.is(await search.call(context.backend, 'NoSuchType', [['title']], [{ kind: 'word', token: 'milk' }], 1), undefined, 'search() of a type without an index');
  });

  test('answers and statistics equal the scan over 400 generated documents and 300 searches (unicode, accents, prefixes, phrases, arrays, limits, other fields)', async (context) => {
    await generatedSearches(context, (texts, options) => sameAnswers(context, texts, options));
  });

  test('the index is built over what was stored before it, and kept by saves, batches, checked saves, deletes, deleteMany, puts, transactions, imports and clear', async (context) => {
    const { backend, store, scan } = context;
    const next = seededRandom(6);
    await saveBoth(context, docs(next, 200));
    await sameAnswers(context, queries(7, 40));
    // Re-saved with new texts (a batch), one at a time, deleted, deleted and saved again.
    await saveBoth(context, docs(next, 60));
    for (const doc of docs(next, 5, 'one')) await saveBoth(context, [doc]);
    await deleteBoth(context, ['d60', 'd61', 'd62', 'd150']);
    await saveBoth(context, [Object.assign(new SearchDoc('d61'), { title: 'milk milk milk', body: 'café' })]);
    await sameAnswers(context, ['milk', ...queries(8, 40)]);
    // A checked save (expectedVersion) may take another path.
    const checked = await store.load(SearchDoc, 'd5');
    checked.title = 'milk checked';
    await store.save(checked, { expectedVersion: store.versionOf(checked) });
    await scan.save(Object.assign(new SearchDoc('d5'), checked));
    await sameAnswers(context, ['"milk checked"', ...queries(9, 20)]);
    // The backend's deleteMany, past the store.
    const gone = ['d1', 'd2', 'd3', 'd170', 'nothing'];
    await backend.deleteMany(SearchDoc.typeName, gone);
    store.cache.clear(); // deleted under its cache
    for (const id of gone) await scan.delete(SearchDoc, id);
    await sameAnswers(context, queries(10, 40));
    if (backend.capabilities.transactions) {
      const inTx = docs(next, 10, 't');
      for (const each of [store, scan]) {
        await each.transaction(async (tx) => {
          await tx.saveMany(inTx.map((doc) => Object.assign(new SearchDoc(doc.id), doc)));
          const mine = await tx.load(SearchDoc, 't0');
          mine.body = 'milk in a transaction';
          await tx.save(mine, { expectedVersion: 1 });
          await tx.delete(SearchDoc, 'd4');
        });
        // A rolled-back transaction leaves the index as it was.
        await rejects(
          each.transaction(async (tx) => {
            await tx.save(Object.assign(new SearchDoc('gone'), { title: 'milk' }));
            await tx.save(Object.assign(new SearchDoc('d7'), { title: 'milk' }));
            await tx.delete(SearchDoc, 'd8');
            throw new RangeError('roll back');
          }),
          RangeError,
          /roll back/,
        );
      }
      await sameAnswers(context, ['milk', '"milk in a transaction"', ...queries(11, 40)]);
    }
    // Records put as they are (one, and a batch), past the store.
    const dump = await scan.exportData();
    const [first, ...rest] = dump.records.filter((record) => record.type === SearchDoc.typeName).slice(0, 30);
    const put = { ...first!, content: first!.content.replace('"title":"', '"title":"milk put ') };
    const puts = rest.map((record) => ({ ...record, id: `p${record.id}` }));
    for (const target of [backend, scan.backend]) {
      await target.put(put);
      await target.putMany(puts);
    }
    store.cache.clear(); // both written under their caches
    scan.cache.clear();
    await sameAnswers(context, ['milk', '"milk put"', ...queries(12, 40)]);
    // Imports: merging (new and replaced objects), then replacing everything.
    const elsewhere = new Store({ backend: new InMemoryBackend() });
    await elsewhere.saveMany([...docs(next, 20, 'd'), ...docs(next, 20, 'imp')]);
    const merged = await elsewhere.exportData();
    await elsewhere.close();
    await store.importData(merged);
    await scan.importData(merged);
    await sameAnswers(context, queries(13, 40));
    await store.importData(await scan.exportData(), { mode: 'replace' });
    await sameAnswers(context, queries(14, 40));
    // Clear, then saves again.
    await store.clear();
    await scan.clear();
    assert.equal(await store.search(SearchDoc, 'milk'), []);
    await saveBoth(context, docs(next, 50));
    await sameAnswers(context, ['milk', ...queries(15, 40)]);
    assert.equal(context.listed, [], 'a search of the searchable fields listed the type: it scanned');
  });

  test('namespaces sharing a backend have an index each', async (context) => {
    const { store, backend } = context;
    const other = new Store({ backend, namespace: 'billing' });
    await store.save(Object.assign(new SearchDoc('a'), { title: 'milk' }));
    await other.save(Object.assign(new SearchDoc('b'), { title: 'milk chocolate' }));
    await other.save(Object.assign(new SearchDoc('c'), { title: 'milk' }));
    assert.equal(await ids(store, 'milk'), ['a'], 'search "milk" in the default namespace');
    assert.equal(await ids(other, 'milk'), ['c', 'b'], 'search "milk" in billing');
    await other.delete(SearchDoc, 'c');
    await other.save(Object.assign(new SearchDoc('d'), { title: 'milky way' }));
    await store.save(Object.assign(new SearchDoc('b'), { title: 'tea' }));
    assert.equal(await ids(other, 'mil*'), ['b', 'd'], 'search "mil*" in billing, after a delete and a save');
    assert.equal(await ids(store, 'mil*'), ['a'], 'search "mil*" in the default namespace');
    assert.equal(await ids(store, 'tea'), ['b'], 'search "tea" in the default namespace');
    assert.equal(await ids(other, 'tea'), [], 'search "tea" in billing');
    assert.equal(context.listed, [], 'a search listed the type: it scanned');
  });

  test('a class whose searchable fields or version change gets its index rebuilt', async (context) => {
    const { store, backend } = context;
    await store.save(Object.assign(new SearchDoc('a'), { title: 'milk', body: 'cafe' }));
    assert.equal(await ids(store, 'cafe'), ['a'], 'search "cafe" of the first class');
    // A second store on the backend: its first search makes the index of its class.
    const newer = new Store({ backend });
    const narrow = async (text: string) => (await newer.search(NarrowSearchDoc, text)).map((doc) => doc.id);
    assert.equal(await narrow('cafe'), [], 'the body is not searchable any more');
    assert.equal(await narrow('milk'), ['a'], 'search "milk" of the new class, before its saves');
    await newer.save(Object.assign(new NarrowSearchDoc('b'), { title: 'milk tea' }));
    await newer.save(Object.assign(new NarrowSearchDoc('c'), { title: 'tea', body: 'milk' }));
    assert.equal(await narrow('milk'), ['a', 'b'], 'search "milk" of the new class (the body not searched)');
    assert.equal(await narrow('tea'), ['c', 'b'], 'search "tea" of the new class (ranked: the shorter title first)');
    assert.equal(context.listed, [], 'a search listed the type: it scanned');
  });

  if (options.reopen) {
    const reopen = options.reopen;
    test('the index survives close and reopen, and is kept in step after', async (context) => {
      await saveBoth(context, docs(seededRandom(13), 100));
      await sameAnswers(context, queries(14, 10));
      await context.store.close(); // and its backend
      context.backend = await reopen(context.backend);
      countLists(context.backend, context.listed);
      context.store = new Store({ backend: context.backend });
      await sameAnswers(context, queries(15, 20));
      await saveBoth(context, docs(seededRandom(16), 30, 'n'));
      await deleteBoth(context, ['d5', 'n7']);
      await sameAnswers(context, queries(17, 60));
      assert.equal(context.listed, [], 'a search listed the type: it scanned');
    });
  }

  test.run();
}
