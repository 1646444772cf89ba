import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ClosedError,
  ConflictError,
  InMemoryBackend,
  InvalidIdError,
  InvalidOptionError,
  NotFoundError,
  Serializable,
  Storage,
  Store,
  type RecordWrite,
  type StoredRecord,
} from '../src/index.js';
import { rejects, throwsError } from './helpers.js';

class Note extends Serializable {
  title = '';
  tags: string[] = [];
}
class Task extends Serializable {
  done = false;
}

/** An in-memory backend that records every call reaching it. */
class SpyBackend extends InMemoryBackend {
  calls: string[] = [];
  override async load(type: string, id: string): Promise<StoredRecord | undefined> {
    this.calls.push(`load ${type}/${id}`);
    return super.load(type, id);
  }
  override async write(write: RecordWrite): Promise<StoredRecord> {
    this.calls.push(`write ${write.type}/${write.id}`);
    return super.write(write);
  }
  override async exists(type: string, id: string): Promise<boolean> {
    this.calls.push(`exists ${type}/${id}`);
    return super.exists(type, id);
  }
}

const note = (id: string, title = id) => Object.assign(new Note(id), { title });

const test = suite('Store');

test('save then load gives the object back; versions count saves', async () => {
  const store = new Store();
  const a = await store.save(note('a', 'first'));
  assert.is(store.versionOf(a), 1);
  a.title = 'second';
  await store.save(a);
  assert.is(store.versionOf(a), 2);
  const fresh = await store.load(Note, 'a', { cache: false });
  assert.is.not(fresh, a);
  assert.is(fresh.title, 'second');
  assert.is(store.versionOf(fresh), 2);
});

test('versions are per store, invisible to copies, and kept for frozen objects', async () => {
  const one = new Store();
  const two = new Store();
  const a = note('a');
  await one.save(a);
  await one.save(a);
  await two.save(a);
  assert.is(one.versionOf(a), 2);
  assert.is(two.versionOf(a), 1);
  assert.equal(Object.keys(a).sort(), ['id', 'tags', 'title']);
  const copy = Object.assign(new Note('copy'), { ...a, id: 'copy' });
  assert.is(one.versionOf(copy), undefined, 'a spread copy carries no version');
  assert.is(JSON.stringify(a), JSON.stringify({ id: 'a', title: 'a', tags: [] }));
  const frozen = Object.freeze(note('f'));
  await one.save(frozen);
  await one.save(frozen, { expectedVersion: 1 });
  assert.is(one.versionOf(frozen), 2);
  assert.is((await one.load(Note, 'f', { cache: false })).title, 'f');
});

test('independent stores share nothing', async () => {
  const one = new Store();
  const two = new Store();
  await one.save(note('a'));
  assert.is(await two.get(Note, 'a'), undefined);
  assert.equal(await two.listAll(), {});
});

test('load of a missing id is NotFoundError naming type and id; get is undefined', async () => {
  const store = new Store();
  const error = await rejects(store.load(Note, 'ghost'), NotFoundError, /Note "ghost" not found/);
  assert.is(error.code, 'ERR_NOT_FOUND');
  assert.is(await store.get(Note, 'ghost'), undefined);
});

test('expectedVersion guards against lost updates', async () => {
  const store = new Store();
  const a = await store.save(note('a'));
  const b = await store.load(Note, 'a', { cache: false });
  b.title = 'from b';
  await store.save(b, { expectedVersion: store.versionOf(b) });
  a.title = 'from a';
  const error = await rejects(store.save(a, { expectedVersion: store.versionOf(a) }), ConflictError, /Note "a": expected version 1, but the stored version is 2/);
  assert.is(error.actualVersion, 2);
  assert.is((await store.load(Note, 'a')).title, 'from b', 'the conflicting save changed nothing, and the cache was dropped');
  await rejects(store.save(note('new'), { expectedVersion: 1 }), ConflictError, /not stored/);
  await store.save(note('new'), { expectedVersion: 0 });
});

test('the cache is an identity map; cache: false bypasses it', async () => {
  const store = new Store();
  const a = await store.save(note('a'));
  assert.is(await store.load(Note, 'a'), a);
  assert.is(await store.load(Note, 'a'), await store.load(Note, 'a'));
  const bypass = await store.load(Note, 'a', { cache: false });
  assert.is.not(bypass, a);
  const stats = store.cache.stats();
  assert.is(stats.hits, 3);
  assert.is(stats.misses, 0);
  store.cache.delete(Note, 'a');
  const reloaded = await store.load(Note, 'a');
  assert.is.not(reloaded, a);
  assert.is(store.cache.stats().misses, 1);
  assert.is(await store.load(Note, 'a'), reloaded);
});

test('save with cache: false drops a cached copy instead of refreshing it', async () => {
  const store = new Store();
  const a = await store.save(note('a', 'one'));
  const other = note('a', 'two');
  await store.save(other, { cache: false });
  const loaded = await store.load(Note, 'a');
  assert.is.not(loaded, a);
  assert.is(loaded.title, 'two');
});

test('concurrent loads of one id give one instance', async () => {
  const backend = new SpyBackend();
  const store = new Store({ backend });
  await store.save(note('a'), { cache: false });
  backend.calls = [];
  const [x, y, z] = await Promise.all([store.load(Note, 'a'), store.load(Note, 'a'), store.get(Note, 'a')]);
  assert.ok(x === y && y === z);
  assert.equal(backend.calls, ['load Note/a']);
});

test('a load overlapping a save does not cache what it read', async () => {
  const store = new Store();
  await store.save(note('a', 'old'), { cache: false });
  const loading = store.load(Note, 'a');
  const saved = store.save(note('a', 'new'), { cache: false });
  await Promise.all([loading, saved]);
  assert.is((await store.load(Note, 'a')).title, 'new');
});

test('a load that begins during a save and ends after it does not cache what it read (bug: it cached the old copy)', async () => {
  // The load reads the stored record before the save replaces it, and finishes after the save.
  class Slow extends InMemoryBackend {
    override async write(write: RecordWrite): Promise<StoredRecord> {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return super.write(write);
    }
    override async load(type: string, id: string): Promise<StoredRecord | undefined> {
      const record = await super.load(type, id);
      await new Promise((resolve) => setTimeout(resolve, 20));
      return record;
    }
  }
  const store = new Store({ backend: new Slow() });
  await store.save(note('a', 'old'), { cache: false });
  const saved = store.save(note('a', 'new'));
  const loaded = store.load(Note, 'a');
  await Promise.all([saved, loaded]);
  assert.is((await store.load(Note, 'a')).title, 'new');
});

test('a cached object whose id was changed is not returned for its old id', async () => {
  const store = new Store();
  const a = await store.save(note('a'));
  a.id = 'b';
  const loaded = await store.load(Note, 'a');
  assert.is(loaded.id, 'a');
});

test('invalid ids fail before any I/O', async () => {
  const backend = new SpyBackend();
  const store = new Store({ backend });
  for (const id of ['', 'a\nb', 'x'.repeat(257), '\udc00', undefined, 7]) {
    const error = await rejects(store.save(Object.assign(new Note(), { id })), InvalidIdError, /Invalid id for Note/);
    assert.is(error.code, 'ERR_INVALID_ID');
    await rejects(store.load(Note, id as string), InvalidIdError);
    await rejects(store.delete(Note, id as string), InvalidIdError);
    await rejects(store.exists(Note, id as string), InvalidIdError);
  }
  await rejects(store.saveMany([note('ok'), new Note('')]), InvalidIdError);
  assert.equal(backend.calls, []);
});

test('256 characters is the limit, counted in code points', async () => {
  const store = new Store();
  await store.save(new Note('😀'.repeat(256)));
  await store.save(new Note('x'.repeat(256)));
  await rejects(store.save(new Note('😀'.repeat(257))), InvalidIdError, /256/);
});

test('delete by object or by class and id; exists, count, list, listAll', async () => {
  const store = new Store();
  await store.saveMany([note('b'), note('a'), note('c'), Object.assign(new Task('t'), { done: true })]);
  assert.is(await store.count(Note), 3);
  assert.equal(await store.list(Note), ['a', 'b', 'c']);
  assert.equal(await store.listAll(), { Note: ['a', 'b', 'c'], Task: ['t'] });
  assert.is(await store.delete(await store.load(Note, 'a')), true);
  assert.is(await store.delete(Note, 'b'), true);
  assert.is(await store.delete(Note, 'b'), false);
  assert.is(await store.exists(Note, 'b'), false);
  assert.is(await store.exists(Note, 'c'), true);
  assert.is(await store.get(Note, 'a'), undefined, 'deleting drops the cached copy');
});

test('exists answers from the cache for a cached object, and asks the backend for any other', async () => {
  const backend = new SpyBackend();
  const store = new Store({ backend });
  await store.save(note('cached'));
  await store.save(note('dropped'), { cache: false });
  await store.backend.write({ type: 'Note', id: 'elsewhere', kind: 'object', content: '{"json":{"title":"x"}}' });
  backend.calls.length = 0;
  assert.is(await store.exists(Note, 'cached'), true);
  assert.equal(backend.calls, [], 'a cached object needs no backend call');
  assert.is(await store.exists(Note, 'dropped'), true);
  assert.is(await store.exists(Note, 'elsewhere'), true);
  assert.is(await store.exists(Note, 'never'), false);
  assert.equal(backend.calls, ['exists Note/dropped', 'exists Note/elsewhere', 'exists Note/never']);
  await store.delete(Note, 'cached');
  assert.is(await store.exists(Note, 'cached'), false, 'a delete drops the cached copy first');
  const uncached = new Store({ backend: new SpyBackend(), cache: false });
  await uncached.save(note('a'));
  assert.is(await uncached.exists(Note, 'a'), true);
  assert.equal((uncached.backend as SpyBackend).calls, ['write Note/a', 'exists Note/a']);
  const stats = store.cache.stats();
  assert.is(stats.hits + stats.misses, 0, 'exists does not count as a cache hit or miss');
});

test('cache.peek returns the cached instance synchronously and never reads the backend', async () => {
  const backend = new SpyBackend();
  const store = new Store({ backend });
  const a = await store.save(note('a'));
  await store.save(note('dropped'), { cache: false });
  backend.calls.length = 0;
  assert.is(store.cache.peek(Note, 'a'), a);
  assert.is(store.cache.peek(Note, 'dropped'), undefined, 'stored but not cached');
  assert.is(store.cache.peek(Note, 'never'), undefined);
  assert.is(store.cache.peek(Task, 'a'), undefined, 'another type, same id');
  assert.equal(backend.calls, []);
  assert.equal(store.cache.stats().hits + store.cache.stats().misses, 0, 'peek counts neither a hit nor a miss');
  throwsError(() => store.cache.peek(Note, ''), InvalidIdError);
  a.id = 'renamed';
  assert.is(store.cache.peek(Note, 'a'), undefined, 'an object whose id was changed is not returned for its old id');
  await store.delete(Note, 'renamed');
  assert.is(store.cache.peek(Note, 'renamed'), undefined);
  assert.is(new Store({ cache: false }).cache.peek(Note, 'a'), undefined);
  await store.close();
  throwsError(() => store.cache.peek(Note, 'a'), ClosedError);
});

test('cache.has says synchronously whether an id is cached, and never reads the backend', async () => {
  const backend = new SpyBackend();
  const store = new Store({ backend });
  const a = await store.save(note('a'));
  await store.save(note('dropped'), { cache: false });
  backend.calls.length = 0;
  assert.is(store.cache.has(Note, 'a'), true);
  assert.is(store.cache.has(Note, 'dropped'), false, 'stored but not cached');
  assert.is(store.cache.has(Task, 'a'), false, 'another type, same id');
  assert.equal(backend.calls, []);
  assert.equal(store.cache.stats().hits + store.cache.stats().misses, 0, 'has counts neither a hit nor a miss');
  throwsError(() => store.cache.has(Note, ''), InvalidIdError);
  a.id = 'renamed';
  assert.is(store.cache.has(Note, 'a'), true, "changing the object's id does not unstore its record");
  assert.is(await store.exists(Note, 'a'), true);
  assert.is((await store.load(Note, 'a', { cache: false })).id, 'a');
  await store.delete(Note, 'a');
  assert.is(store.cache.has(Note, 'a'), false);
  assert.is(await store.exists(Note, 'a'), false);
  assert.is(new Store({ cache: false }).cache.has(Note, 'a'), false);
  await store.close();
  throwsError(() => store.cache.has(Note, 'a'), ClosedError);
});

test('cache.peek does not refresh an entry: an object read only by peek is evicted as if unused', async () => {
  const store = new Store({ cache: { max: 2 } });
  const a = await store.save(note('a'));
  await store.save(note('b'));
  assert.is(store.cache.peek(Note, 'a'), a);
  await store.save(note('c')); // evicts the least recently used: a, since peek did not use it
  assert.is(store.cache.peek(Note, 'a'), undefined);
  assert.ok(store.cache.peek(Note, 'b'));
  await store.load(Note, 'b'); // a load does refresh b
  await store.save(note('d')); // evicts c
  assert.ok(store.cache.peek(Note, 'b'));
  assert.is(store.cache.peek(Note, 'c'), undefined);
});

test('saveMany saves all, assigns versions and caches', async () => {
  const store = new Store();
  const saved = await store.saveMany([note('a'), note('b')]);
  assert.equal(saved.map((n) => store.versionOf(n)), [1, 1]);
  assert.is(await store.load(Note, 'a'), saved[0]);
  await rejects(store.saveMany('nope' as never), TypeError);
});

test('saving something that is not a Serializable is a TypeError', async () => {
  const store = new Store();
  await rejects(store.save({ id: 'x' } as never), TypeError, /Serializable/);
});

test('clear empties backend and cache', async () => {
  const store = new Store();
  await store.save(note('a'));
  await store.clear();
  assert.is(await store.get(Note, 'a'), undefined);
  assert.is(store.cache.stats().size, 0);
});

test('a closed store throws ClosedError', async () => {
  const store = new Store();
  await store.close();
  await rejects(store.save(note('a')), ClosedError, /closed/);
  await rejects(store.load(Note, 'a'), ClosedError);
  await store.close();
});

test('options are checked where they enter', async () => {
  throwsError(() => new Store({ bakend: new InMemoryBackend() } as never), InvalidOptionError, /unknown option "bakend" \(did you mean "backend"\?\)/);
  throwsError(() => new Store({ cache: { mx: 3 } } as never), InvalidOptionError, /did you mean "max"/);
  throwsError(() => new Store({ cache: { max: 0 } }), InvalidOptionError, /max must be an integer >= 1/);
  const store = new Store();
  await rejects(store.save(note('a'), { expectedVersoin: 1 } as never), InvalidOptionError, /expectedVersion/);
  await rejects(store.save(note('a'), { expectedVersion: -1 }), InvalidOptionError);
  await rejects(store.load(Note, 'a', { cahce: false } as never), InvalidOptionError);
});

test('cache: false turns the cache off', async () => {
  const store = new Store({ cache: false });
  const a = await store.save(note('a'));
  assert.is.not(await store.load(Note, 'a'), a);
  assert.equal(store.cache.stats(), { hits: 0, misses: 0, evictions: 0, size: 0, calculatedSize: 0, max: 0, maxSize: 0, hitRate: 0, outsideChanges: 0, outsideDrops: 0, outsideResets: 0 });
});

test.run();

const facade = suite('Storage facade');

facade.before.each(() => {
  Storage.configure('memory');
});
facade.after(async () => {
  await Storage.close();
});

facade('static methods and instance sugar work on the default store', async () => {
  const n = await note('s1', 'sugar').save();
  assert.is(await Note.load('s1'), n);
  assert.is(await Storage.load(Note, 's1'), n);
  assert.is(await Note.get('missing'), undefined);
  assert.is(await Storage.exists(Note, 's1'), true);
  assert.is(await Storage.count(Note), 1);
  assert.equal(await Storage.list(Note), ['s1']);
  assert.equal(await Storage.listAll(), { Note: ['s1'] });
  assert.is(Storage.versionOf(n), 1);
  assert.is(await n.delete(), true);
  assert.is(await Storage.count(Note), 0);
});

facade('sugar writes to the store the object came from, never silently to the default one (bug: note.save() on an object from another Store saved it in the default store)', async () => {
  const other = new Store();
  const loaded = await other.load(Note, (await other.save(note('o', 'first'))).id, { cache: false });
  loaded.title = 'second';
  await loaded.save();
  assert.is((await other.load(Note, 'o', { cache: false })).title, 'second', 'saved in the store it came from');
  assert.is(await Storage.get(Note, 'o'), undefined, 'not in the default store');
  assert.is(await loaded.delete(), true);
  assert.is(await other.exists(Note, 'o'), false);

  const frozen = Object.freeze(note('f'));
  await other.save(frozen);
  await frozen.save();
  assert.is(other.versionOf(frozen), 2, 'a frozen object finds its store too');

  const fresh = await note('new').save();
  assert.is(Storage.versionOf(fresh), 1, 'an object no store knows goes to the default store');

  const both = note('both');
  await other.save(both);
  await Storage.save(both);
  await rejects(both.save(), TypeError, /Note "both" was saved or loaded through 2 open stores .*call store\.save\(obj\)/);
  await rejects(both.delete(), TypeError, /2 open stores/);

  await other.close();
  await both.save(); // the one open store it came from
  assert.is(Storage.versionOf(both), 2);
  await rejects(loaded.save(), ClosedError, /the store Note "o" was saved or loaded through \(memory\) is closed/);
});

facade('configure replaces the store and closes the old one; registrations survive', async () => {
  class Registered extends Serializable {}
  Storage.register(Registered);
  const first = Storage.store;
  await Storage.save(note('a'));
  Storage.configure('memory', { cache: { max: 5 } });
  assert.is.not(Storage.store, first);
  assert.is(await Storage.get(Note, 'a'), undefined, 'a fresh memory store');
  assert.is(Storage.cache.stats().max, 5);
  assert.ok(Storage.store.registry.has('Registered'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(first.closed);
});

facade('use() takes a backend', async () => {
  const backend = new InMemoryBackend();
  Storage.use(backend, { cache: false });
  await Storage.save(note('u'));
  assert.equal(await backend.list('Note'), ['u']);
  assert.is(Storage.cache.stats().max, 0);
});

facade('configure rejects unknown backends and options', () => {
  throwsError(() => Storage.configure('mysql' as never), InvalidOptionError, /unknown backend "mysql"; known here: memory, file, sqlite, postgres/);
  throwsError(() => Storage.configure('memory', { cach: false } as never), InvalidOptionError, /did you mean "cache"/);
});

facade('a closed facade says so until configured again', async () => {
  await Storage.close();
  await rejects(Storage.save(note('x')), ClosedError);
  Storage.configure('memory');
  await Storage.save(note('x'));
});

facade('Storage.watch reports the default store\'s changes and follows it across configure and use', async () => {
  const seen: string[] = [];
  const stop = Storage.watch((change) => seen.push(change.reset ? `reset ${change.local}` : `${change.deleted ? 'delete' : 'save'} ${change.id} ${change.local}`), { types: [Note] });
  await Storage.save(note('a'));
  const backend = new InMemoryBackend();
  Storage.use(backend, { watchInterval: 5 });
  await Storage.save(note('b'));
  await Storage.delete(Note, 'b');
  const other = new Store({ backend });
  await other.save(note('c'));
  stop();
  stop();
  await Storage.save(note('d'));
  assert.equal(seen, ['save a true', 'reset true', 'save b true', 'delete b true', 'save c false']);
  await other.close();
});

facade('configure takes watchInterval and checks it', () => {
  Storage.configure('memory', { watchInterval: 20 });
  throwsError(() => Storage.configure('memory', { watchInterval: 0 }), InvalidOptionError, /watchInterval/);
});

facade.run();
