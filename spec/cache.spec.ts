import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { countUtf8, ObjectCache } from '../src/cache.js';
import { IdLists } from '../src/id-lists.js';
import { InMemoryBackend, Serializable, Storage, Store, type BackendChange, type ChangeListener, type RecordWrite, type StoredRecord } from '../src/index.js';

class Item extends Serializable {
  label = '';
}
const item = (id: string, label = id) => Object.assign(new Item(id), { label });
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A memory backend with a change feed that reports what `writeBehind` (another process, as it were) writes. */
class SharedBackend extends InMemoryBackend {
  asked = 0;
  #pending: BackendChange[] = [];
  #listener: ChangeListener | undefined;
  override changes(listener: ChangeListener): () => void {
    this.#listener = listener;
    return () => (this.#listener = undefined);
  }
  override pollChanges(): void {
    this.asked++;
    const pending = this.#pending;
    this.#pending = [];
    if (pending.length > 0) this.#listener?.(pending);
  }
  /** Writes as "another process" would: behind the store's back, reported at the next poll. */
  async writeBehind(write: RecordWrite): Promise<StoredRecord> {
    const record = await super.write(write);
    this.#pending.push({ type: record.type, id: record.id, version: record.version, deleted: false });
    return record;
  }
  /** Another process's change that may have been missed: a reset at the next poll. */
  resetBehind(): void {
    this.#pending.push({ reset: true });
  }
}

const test = suite('cache');

test('countUtf8 (the byte count where there is no Buffer) agrees with Buffer.byteLength', () => {
  for (const text of ['', 'abc', 'é', '日本語', '😀', '\ud800', '\udc00x', 'a😀b\u2028\u0000', 'x'.repeat(1000) + '€', '\udbff\udfff\ud800']) {
    assert.is(countUtf8(text), Buffer.byteLength(text), JSON.stringify(text));
  }
});

test('a kept id list noted to gain an id it already lists lists it once', () => {
  const lists = new IdLists(10);
  lists.set('T', ['a', 'b']);
  lists.add('T', 'b');
  lists.add('T', 'c');
  assert.equal(lists.get('T'), ['a', 'b', 'c']);
});

test('max bounds the entry count and evicts the least recently used', async () => {
  const store = new Store({ cache: { max: 3 } });
  for (const id of ['a', 'b', 'c']) await store.save(item(id));
  await store.load(Item, 'a'); // a is now the most recent
  await store.save(item('d')); // evicts b
  const stats = store.cache.stats();
  assert.is(stats.size, 3);
  assert.is(stats.evictions, 1);
  assert.is(stats.max, 3);
  const before = store.cache.stats().misses;
  await store.load(Item, 'a');
  await store.load(Item, 'b');
  assert.is(store.cache.stats().misses - before, 1, 'only b was evicted');
});

test('maxSize counts UTF-8 bytes of stored content', async () => {
  const store = new Store({ cache: { maxSize: 200 } });
  await store.save(item('a', 'x'));
  const one = store.cache.stats().calculatedSize;
  assert.is(one, Buffer.byteLength('{"json":{"label":"x"}}'));
  await store.save(item('b', '😀')); // 4 bytes in UTF-8, 2 UTF-16 units
  assert.is(store.cache.stats().calculatedSize, one + Buffer.byteLength('{"json":{"label":"😀"}}'));
  await store.save(item('c', 'y'.repeat(150)));
  const stats = store.cache.stats();
  assert.ok(stats.calculatedSize <= 200, `calculatedSize ${stats.calculatedSize} <= maxSize`);
  assert.ok(stats.evictions >= 1);
  assert.is(stats.maxSize, 200);
});

test('stats count hits and misses exactly', async () => {
  const store = new Store();
  await store.save(item('a'), { cache: false });
  await store.load(Item, 'a'); // miss
  await store.load(Item, 'a'); // hit
  await store.load(Item, 'a'); // hit
  await store.get(Item, 'nope'); // miss
  await store.load(Item, 'a', { cache: false }); // neither
  const stats = store.cache.stats();
  assert.equal([stats.hits, stats.misses, stats.hitRate], [2, 2, 0.5]);
});

test('every invalidation path: save refreshes; delete, clear, conflict, gc, cache.delete/clear drop', async () => {
  const store = new Store();
  const a = await store.save(item('a'));
  const replacement = item('a', 'replacement');
  await store.save(replacement);
  assert.is(await store.load(Item, 'a'), replacement, 'save refreshes the entry');
  assert.is.not(a, replacement);

  await store.delete(Item, 'a');
  assert.is(await store.get(Item, 'a'), undefined, 'delete drops it');

  await store.save(item('b'));
  await store.clear();
  assert.is(store.cache.stats().size, 0, 'clear drops everything');

  const c = await store.save(item('c'));
  await new Store({ backend: store.backend, registry: store.registry }).save(item('c', 'elsewhere'));
  await store.save(c, { expectedVersion: 1 }).catch(() => {});
  assert.is((await store.load(Item, 'c')).label, 'elsewhere', 'a conflict drops the stale entry');

  const keep = await store.save(item('keep'));
  await store.save(item('orphan'));
  await store.gc([keep]);
  assert.is(await store.get(Item, 'orphan'), undefined, 'gc drops what it deletes');

  const cached = await store.load(Item, 'keep');
  store.cache.delete(Item, 'keep');
  assert.is.not(await store.load(Item, 'keep'), cached, 'cache.delete drops one entry');
  store.cache.clear();
  assert.is(store.cache.stats().size, 0);
});

test('configure and use start with an empty cache', async () => {
  Storage.configure('memory');
  await Storage.save(item('x'));
  assert.is(Storage.cache.stats().size, 1);
  Storage.use(new InMemoryBackend());
  assert.is(Storage.cache.stats().size, 0);
  assert.is(await Storage.get(Item, 'x'), undefined);
  Storage.configure('memory');
  assert.is(Storage.cache.stats().size, 0);
  await Storage.close();
});

test('an unsaved change is visible to later cached loads until the entry is dropped', async () => {
  const store = new Store();
  const a = await store.save(item('a', 'saved'));
  a.label = 'changed, not saved';
  assert.is((await store.load(Item, 'a')).label, 'changed, not saved');
  assert.is((await store.load(Item, 'a', { cache: false })).label, 'saved');
  store.cache.delete(Item, 'a');
  assert.is((await store.load(Item, 'a')).label, 'saved');
});

test('ttl expires entries on an injected clock', async () => {
  let now = 1_000;
  const store = new Store({ cache: { ttl: 500, now: () => now } });
  const a = await store.save(item('a'));
  now += 499;
  assert.is(await store.load(Item, 'a'), a, 'still fresh at 499 ms');
  now += 2;
  const reloaded = await store.load(Item, 'a');
  assert.is.not(reloaded, a, 'expired at 501 ms: read again');
  assert.is(store.cache.stats().misses, 1);
});

test('outside changes: asked once per event-loop iteration; a change drops exactly its object, a reset everything', async () => {
  const backend = new SharedBackend();
  const store = new Store({ backend });
  const a = await store.save(item('a', 'mine'));
  const b = await store.save(item('b', 'mine'));
  for (let i = 0; i < 100; i++) assert.is(await store.load(Item, 'a'), a);
  assert.is(backend.asked, 1, 'one check for 100 loads in one iteration');

  await backend.writeBehind({ type: 'Item', id: 'a', kind: 'object', content: '{"json":{"label":"theirs"}}' });
  assert.is(await store.load(Item, 'a'), a, 'within the same iteration the earlier check stands');
  await nextTurn();
  const fresh = await store.load(Item, 'a');
  assert.is(fresh.label, 'theirs', 'the next iteration sees the change');
  assert.is(await store.load(Item, 'b'), b, 'and keeps every other object cached');
  assert.is(backend.asked, 2);
  let stats = store.cache.stats();
  assert.equal([stats.outsideChanges, stats.outsideDrops, stats.outsideResets], [1, 1, 0]);
  await nextTurn();
  assert.is(await store.load(Item, 'a'), fresh, 'no outside change: the cache serves again');

  await backend.writeBehind({ type: 'Item', id: 'c', kind: 'object', content: '{"json":{"label":"new"}}' });
  await nextTurn();
  assert.ok(store.cache.has(Item, 'a'), 'a change of an object not cached drops nothing');
  stats = store.cache.stats();
  assert.equal([stats.outsideChanges, stats.outsideDrops], [2, 1]);
  backend.resetBehind();
  await nextTurn();
  assert.is(store.cache.peek(Item, 'b'), undefined, 'a reset empties the cache');
  assert.is(store.cache.stats().outsideResets, 1);
});

test('a store with the cache off never asks about outside changes', async () => {
  const backend = new SharedBackend();
  const store = new Store({ backend, cache: false });
  await store.save(item('a'));
  await store.load(Item, 'a');
  assert.is(backend.asked, 0);
});

test.run();

// The id lists the cache keeps: every way the set of ids of a type can change must drop them.
const lists = suite('kept id lists');

/** A SharedBackend that counts its listings, and can hold a listing's answer until released. */
class ListingBackend extends SharedBackend {
  listed = 0;
  hold: Promise<void> | undefined;
  override async list(type: string): Promise<string[]> {
    this.listed++;
    const ids = await super.list(type);
    await this.hold;
    return ids;
  }
}

lists('a kept list is served from memory and follows the store\'s own creates and deletes', async () => {
  const backend = new ListingBackend();
  const store = new Store({ backend });
  await store.saveMany([item('b'), item('a')]);
  assert.equal(await store.list(Item), ['a', 'b']);
  const again = await store.list(Item);
  assert.equal(again, ['a', 'b']);
  again.push('mine');
  assert.equal(await store.list(Item), ['a', 'b'], 'each caller gets its own copy');
  await store.save(item('a', 'changed')); // an update: no new id
  await store.save(item('aa'), { cache: false });
  await store.saveMany([item('c'), item('0')]);
  assert.equal(await store.list(Item), ['0', 'a', 'aa', 'b', 'c']);
  await store.delete(Item, 'a');
  await store.delete(Item, 'never'); // deletes nothing
  await store.save(item('d'));
  await store.delete(Item, 'd'); // created and deleted between two lists
  await store.delete(Item, 'c');
  await store.save(item('c')); // deleted and created again
  assert.equal(await store.list(Item), ['0', 'aa', 'b', 'c']);
  assert.equal(await store.listAll(), { Item: ['0', 'aa', 'b', 'c'] });
  assert.is(backend.listed, 1, 'the backend was listed once');
  assert.equal(await store.backend.list('Item'), ['0', 'aa', 'b', 'c'], 'the backend agrees');
});

lists('a kept list that grows past cache.max is dropped', async () => {
  const backend = new ListingBackend();
  const store = new Store({ backend, cache: { max: 3 } });
  await store.saveMany([item('a'), item('b')]);
  assert.equal(await store.list(Item), ['a', 'b']);
  await store.save(item('c'));
  assert.equal(await store.list(Item), ['a', 'b', 'c']);
  assert.is(backend.listed, 1);
  await store.save(item('d'));
  assert.equal(await store.list(Item), ['a', 'b', 'c', 'd']);
  assert.is(backend.listed, 2, 'four ids: listed by the backend, and not kept');
  await store.list(Item);
  assert.is(backend.listed, 3);
});

lists('clear, imports, gc and cache.clear() drop the kept lists', async () => {
  const store = new Store({ backend: new ListingBackend() });
  await store.saveMany([item('a'), item('b')]);
  assert.equal(await store.list(Item), ['a', 'b']);
  const dump = await store.exportData();
  await store.clear();
  assert.equal(await store.list(Item), []);
  await store.importData(dump);
  assert.equal(await store.list(Item), ['a', 'b']);
  const root = await store.load(Item, 'a');
  await store.gc([root]);
  assert.equal(await store.list(Item), ['a']);
  await store.backend.write({ type: 'Item', id: 'z', kind: 'object', content: '{"json":{"label":"z"}}' });
  store.cache.clear();
  assert.equal(await store.list(Item), ['a', 'z']);
});

lists('another process creating an object is seen by the next list in a later iteration', async () => {
  const backend = new ListingBackend();
  const store = new Store({ backend });
  await store.save(item('a'));
  assert.equal(await store.list(Item), ['a']);
  await backend.writeBehind({ type: 'Item', id: 'b', kind: 'object', content: '{"json":{"label":"b"}}' });
  await nextTurn();
  assert.equal(await store.list(Item), ['a', 'b']);
});

lists('a list that overlapped a save is not kept', async () => {
  const backend = new ListingBackend();
  const store = new Store({ backend });
  await store.save(item('a'));
  let release!: () => void;
  backend.hold = new Promise((resolve) => (release = resolve));
  const listing = store.list(Item); // reads ['a'], then waits
  await store.save(item('b')); // done while the listing waits
  backend.hold = undefined;
  release();
  assert.equal(await listing, ['a'], 'what the backend listed when asked');
  assert.equal(await store.list(Item), ['a', 'b']);
});

lists('lists longer than cache.max are not kept; a store without a cache keeps none', async () => {
  const small = new ListingBackend();
  const store = new Store({ backend: small, cache: { max: 2 } });
  await store.saveMany([item('a'), item('b'), item('c')]);
  await store.list(Item);
  await store.list(Item);
  assert.is(small.listed, 2);
  const off = new ListingBackend();
  const uncached = new Store({ backend: off, cache: false });
  await uncached.save(item('a'));
  await uncached.list(Item);
  await uncached.list(Item);
  assert.is(off.listed, 2);
});

lists.run();

// ObjectCache on its own: lookups go through an index of type -> id -> entry that every way an
// entry leaves the LRU must keep in step.
const unit = suite('ObjectCache');

unit('an evicted entry is gone for get and peek, and can be cached again', () => {
  const cache = new ObjectCache({ max: 2 });
  const [a, b, c, a2] = [{ n: 'a' }, { n: 'b' }, { n: 'c' }, { n: 'a2' }];
  cache.set('T', 'a', a, '');
  cache.set('T', 'b', b, '');
  cache.set('U', 'c', c, ''); // evicts T a
  assert.is(cache.get('T', 'a'), undefined);
  assert.is(cache.peek('T', 'a'), undefined);
  assert.is(cache.has('T', 'a'), false);
  assert.is(cache.peek('T', 'b'), b);
  assert.is(cache.has('T', 'b'), true);
  assert.is(cache.get('U', 'c'), c);
  cache.set('T', 'a', a2, ''); // evicts T b
  assert.is(cache.get('T', 'a'), a2);
  assert.is(cache.get('T', 'b'), undefined);
  assert.is(cache.stats().evictions, 2);
});

unit('ids holding ":" and the same id under two types stay apart', () => {
  const cache = new ObjectCache({ max: 2 });
  const [x, y, z] = [{ n: 'x' }, { n: 'y' }, { n: 'z' }];
  cache.set('T', 'a:b', x, '');
  cache.set('U', 'a:b', y, '');
  assert.is(cache.get('T', 'a:b'), x);
  assert.is(cache.get('U', 'a:b'), y);
  cache.set('T', 'b', z, ''); // evicts T a:b, the least recently used
  assert.is(cache.get('T', 'a:b'), undefined);
  assert.is(cache.get('U', 'a:b'), y);
  assert.ok(cache.delete('U', 'a:b'));
  assert.not.ok(cache.delete('U', 'a:b'));
  assert.is(cache.get('T', 'b'), z);
});

unit('an entry larger than maxSize is not kept, and the id can be cached later', () => {
  const cache = new ObjectCache({ maxSize: 10 });
  const big = { n: 'big' };
  const small = { n: 'small' };
  cache.set('T', 'a', big, 'x'.repeat(11));
  assert.is(cache.get('T', 'a'), undefined);
  assert.is(cache.stats().size, 0);
  cache.set('T', 'a', small, 'x');
  assert.is(cache.get('T', 'a'), small);
  // Replacing a kept entry with one too large drops it.
  cache.set('T', 'a', big, 'x'.repeat(11));
  assert.is(cache.peek('T', 'a'), undefined);
});

unit('an expired entry misses, and a new one under its id is served', () => {
  let clock = 1000; // lru-cache reads a start time of 0 as "no start"
  const cache = new ObjectCache({ ttl: 100, now: () => clock });
  const [old, fresh] = [{ n: 'old' }, { n: 'fresh' }];
  cache.set('T', 'a', old, '');
  clock = 1150;
  assert.is(cache.peek('T', 'a'), undefined, 'peek sees the expiry too');
  assert.is(cache.has('T', 'a'), false, 'so does has');
  assert.is(cache.get('T', 'a'), undefined);
  cache.set('T', 'a', fresh, '');
  assert.is(cache.get('T', 'a'), fresh);
});

unit('clear drops every entry; a disabled cache holds nothing', () => {
  const cache = new ObjectCache();
  cache.set('T', 'a', { n: 1 }, '');
  cache.clear();
  assert.is(cache.peek('T', 'a'), undefined);
  assert.is(cache.stats().size, 0);
  const off = new ObjectCache(false);
  off.set('T', 'a', { n: 1 }, '');
  assert.is(off.get('T', 'a'), undefined);
  assert.not.ok(off.enabled);
});

unit.run();
