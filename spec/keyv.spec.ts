// The Keyv adapter's own behaviour, beyond @keyv/test-suite (which spec-keyv/ runs under vitest):
// keys that are not ids, ttl on an injected clock, the type option, errors and events, persistence.
import { join } from 'node:path';
import Keyv from 'keyv';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ClosedError, InMemoryBackend, InvalidIdError, InvalidOptionError, SqliteBackend, Store, type RecordWrite } from '../src/index.js';
import { KeyvCuttle, KeyvEntry } from '../src/keyv.js';
import { rejects, tempDir, throwsError } from './helpers.js';

const test = suite('keyv adapter');

async function all(adapter: KeyvCuttle, namespace?: string): Promise<Array<[string, unknown]>> {
  const found: Array<[string, unknown]> = [];
  for await (const entry of adapter.iterator(namespace)) found.push(entry);
  return found;
}

const LONG = 'n:' + 'x'.repeat(300);
const ODD_KEYS = [LONG, 'n:line\nbreak', '~sha256:looks-hashed', ''];

test('keys that are not valid ids (too long, control characters, empty, the hash prefix) round-trip and keep their own key', async () => {
  const store = new Store();
  const adapter = new KeyvCuttle(store);
  for (const [i, key] of ODD_KEYS.entries()) await adapter.set(key, `v${i}`);
  for (const [i, key] of ODD_KEYS.entries()) {
    assert.is(await adapter.get(key), `v${i}`, JSON.stringify(key));
    assert.ok(await adapter.has(key));
  }
  assert.is(await store.count(KeyvEntry), ODD_KEYS.length);
  const ids = await store.list(KeyvEntry);
  assert.ok(ids.every((id) => id.startsWith('~sha256:') && id.length === 8 + 64), ids.join(' '));
  assert.equal(new Set((await all(adapter)).map(([key]) => key)), new Set(ODD_KEYS));
  assert.ok(await adapter.delete(LONG));
  assert.is(await adapter.get(LONG), undefined);
  assert.not.ok(await adapter.delete(LONG));
});

test('clear() deletes the keys of its namespace only, hashed keys included', async () => {
  const store = new Store();
  const a = new KeyvCuttle(store);
  a.namespace = 'n';
  const b = new KeyvCuttle(store);
  b.namespace = 'm';
  await a.setMany([{ key: 'n:1', value: 'a' }, { key: LONG, value: 'long' }]);
  await b.setMany([{ key: 'm:1', value: 'b' }, { key: 'm:' + 'y'.repeat(300), value: 'long b' }]);
  await a.clear();
  assert.is(await a.get('n:1'), undefined);
  assert.is(await a.get(LONG), undefined);
  assert.is(await b.get('m:1'), 'b');
  assert.is(await b.get('m:' + 'y'.repeat(300)), 'long b');
  assert.equal((await all(b, 'm')).map(([key]) => key).sort(), ['m:1', 'm:' + 'y'.repeat(300)]);
  const none = new KeyvCuttle(store);
  await none.clear();
  assert.is(await store.count(KeyvEntry), 0);
});

test('a ttl expires on the injected clock: get, has and the iterator skip the entry, and it is deleted', async () => {
  let now = 1_000_000;
  const store = new Store();
  const adapter = new KeyvCuttle(store, { now: () => now });
  await adapter.set('short', 's', 100);
  await adapter.set('forever', 'f');
  await adapter.set('zero', 'z', 0);
  now += 99;
  assert.is(await adapter.get('short'), 's');
  now += 1;
  assert.is(await adapter.get('short'), undefined);
  assert.not.ok(await adapter.has('short'));
  assert.not.ok(await store.exists(KeyvEntry, 'short'));
  await adapter.set('later', 'l', 10);
  now += 10;
  assert.equal(await all(adapter), [['forever', 'f'], ['zero', 'z']]);
  assert.is(await store.count(KeyvEntry), 2);
  assert.equal(await adapter.getMany(['forever', 'later', 'zero']), ['f', undefined, 'z']);
  assert.equal(await adapter.hasMany(['forever', 'later']), [true, false]);
});

test('the iterator loads iterationLimit entries at a time and yields every one', async () => {
  const store = new Store();
  const adapter = new KeyvCuttle(store, { iterationLimit: 2 });
  for (let i = 0; i < 7; i++) await adapter.set(`k:${i}`, i);
  await adapter.set('other:1', 'x');
  assert.equal(await all(adapter, 'k'), [0, 1, 2, 3, 4, 5, 6].map((i) => [`k:${i}`, i]));
  assert.is((await all(adapter)).length, 8);
});

test('options.type keeps two adapters on one store apart; a bad type or option is refused where it enters', async () => {
  const store = new Store();
  const sessions = new KeyvCuttle(store, { type: 'sessions' });
  const cache = new KeyvCuttle(store, { type: 'cache' });
  await sessions.set('k', 'session');
  await cache.set('k', 'cached');
  await cache.clear();
  assert.is(await sessions.get('k'), 'session');
  assert.equal(await store.listAll(), { sessions: ['k'] });
  assert.is(new KeyvCuttle(store, { type: 'sessions' }).opts.type, 'sessions');
  throwsError(() => new KeyvCuttle(store, { type: 'no spaces' }), InvalidIdError, /type name/);
  throwsError(() => new KeyvCuttle(store, { typ: 'x' } as never), InvalidOptionError, /unknown option "typ" \(did you mean "type"\?\)/);
  throwsError(() => new KeyvCuttle(store, { iterationLimit: 0 }), InvalidOptionError, /iterationLimit must be an integer >= 1/);
  throwsError(() => new KeyvCuttle({} as never), InvalidOptionError, /expects a cuttle Store/);
  throwsError(() => new KeyvCuttle(store, { now: 5 as never }), InvalidOptionError, /now must be a function/);
});

test('opts names the backend, and Keyv offers its iterator for every backend', async () => {
  const store = new Store({ backend: new InMemoryBackend() });
  const adapter = new KeyvCuttle(store);
  assert.equal(adapter.opts, { dialect: 'sqlite', url: 'cuttle:memory', type: 'keyv', iterationLimit: 100 });
  const keyv = new Keyv({ store: adapter, namespace: 'app' });
  await keyv.set('a', 1);
  const seen: Array<[unknown, unknown]> = [];
  for await (const entry of keyv.iterator!(undefined)) seen.push(entry as [unknown, unknown]);
  assert.equal(seen, [['a', 1]]);
});

test('a failed read emits error on the adapter (and through Keyv) and rejects; a failed write rejects', async () => {
  const store = new Store();
  const adapter = new KeyvCuttle(store);
  const errors: unknown[] = [];
  adapter.on('error', (error) => errors.push(error));
  await store.close();
  await rejects(adapter.get('k'), ClosedError);
  await rejects(adapter.getMany(['k']), ClosedError);
  await rejects(adapter.has('k'), ClosedError);
  await rejects(all(adapter), ClosedError);
  assert.is(errors.length, 4);
  assert.ok(errors.every((error) => error instanceof ClosedError));
  await rejects(adapter.set('k', 'v'), ClosedError);
  await rejects(adapter.delete('k'), ClosedError);
  assert.is(errors.length, 4);

  const keyv = new Keyv({ store: new KeyvCuttle(store) });
  const heard: unknown[] = [];
  keyv.on('error', (error) => heard.push(error));
  assert.is(await keyv.get('k'), undefined);
  assert.is(await keyv.set('k', 'v'), false);
  assert.is(heard.length, 2);
});

test('through Keyv on SQLite: values persist across stores, and with serialize off cuttle keeps rich values', async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'keyv.db');
    let store = new Store({ backend: new SqliteBackend({ path }) });
    await new Keyv({ store: new KeyvCuttle(store), namespace: 'app' }).set('user', { name: 'Ada' }, 60_000);
    const rich = new Keyv({ store: new KeyvCuttle(store, { type: 'rich' }), serialize: undefined, deserialize: undefined });
    const value = new Map([['when', new Date(0)]]);
    await rich.set('m', value);
    await store.close();
    store = new Store({ backend: new SqliteBackend({ path }) });
    assert.equal(await new Keyv({ store: new KeyvCuttle(store), namespace: 'app' }).get('user'), { name: 'Ada' });
    const loaded = await new Keyv({ store: new KeyvCuttle(store, { type: 'rich' }), serialize: undefined, deserialize: undefined }).get('m');
    assert.instance(loaded, Map);
    assert.instance((loaded as Map<string, Date>).get('when'), Date);
    assert.is((loaded as Map<string, Date>).get('when')!.getTime(), 0);
    await store.close();
  } finally {
    dir.remove();
  }
});

/** A memory backend whose writes and deletes wait the next of `delays` ms, as pool connections finish out of order. */
class Jittery extends InMemoryBackend {
  constructor(readonly delays: number[]) {
    super();
  }
  override async write(write: RecordWrite) {
    await new Promise((resolve) => setTimeout(resolve, this.delays.shift() ?? 0));
    return super.write(write);
  }
  override async delete(type: string, id: string) {
    await new Promise((resolve) => setTimeout(resolve, this.delays.shift() ?? 0));
    return super.delete(type, id);
  }
}

test('calls on one key take effect in call order even unawaited and through two adapters; clear waits for them (bug: a PostgreSQL run of the suite lost a set to an earlier unawaited delete)', async () => {
  const store = new Store({ backend: new Jittery([40, 0, 0, 30, 0]) });
  const one = new KeyvCuttle(store);
  const two = new KeyvCuttle(store);
  const calls = [one.set('k', 'first'), two.delete('k'), one.set('k', 'second'), two.get('k')];
  const [, deleted, , got] = await Promise.all(calls);
  assert.is(deleted, true);
  assert.is(got, 'second');
  assert.is(await one.get('k'), 'second');
  const late = one.set('other', 'x');
  const cleared = two.clear();
  const after = one.set('after', 'y');
  await Promise.all([late, cleared, after]);
  assert.is(await one.get('other'), undefined);
  assert.is(await one.get('after'), 'y');
});

test.run();
