// The IndexedDB backend's tests, run twice: in Node under fake-indexeddb (spec/indexeddb.spec.ts)
// and in real Chromium (spec/browser/, through scripts/test-browser.mjs). Only what works in both
// places belongs here: no node: module, no Node global.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IndexedDbBackend } from '../src/indexeddb.js';
import { BackendError, ClosedError, ConflictError, DumpFormatError, InvalidOptionError, Serializable, Store, type BackendChange, type StorageBackend, type StoredRecord } from '../src/core.js';
import { openBackend } from '../src/kinds.js';
import { inTransaction, request } from '../src/backends/indexeddb-requests.js';
import { META, OBJECTS, SEQ, STAGING } from '../src/backends/indexeddb-schema.js';
import { backendSuite } from '../src/testing/index.js';
import { rejects } from '../src/testing/assert.js';

/**
 * How long the suite's backends wait for a message before they take it for lost (ms): far longer
 * than delivery takes, so that a slow machine makes no reset the tests do not expect. The tests
 * of lost messages set a short one.
 */
const PATIENT = 10_000;

let databases = 0;
/** A database name no other test uses (databases of one origin outlive a test). */
const freshName = () => `cuttle-test-${Date.now().toString(36)}-${++databases}`;

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });
}

/** Opens database `name` directly (as another tab would), runs `fn` in one transaction, closes it. */
async function raw<T>(name: string, stores: string[], fn: (tx: IDBTransaction) => Promise<T>): Promise<T> {
  const db = await request(indexedDB.open(name));
  try {
    return await inTransaction(db, stores, 'readwrite', fn);
  } finally {
    db.close();
  }
}

/** What a tab that closed between its commit and its message leaves: the commit number moved, no message came. */
async function commitWithoutMessage(name: string): Promise<void> {
  await raw(name, [META], async (tx) => {
    const meta = tx.objectStore(META);
    const seq = await request(meta.get(SEQ));
    assert.type(seq, 'number', 'the database has a commit number');
    meta.put((seq as number) + 1, SEQ);
  });
}

const record = (id: string, extra: Partial<StoredRecord> = {}): StoredRecord => ({ type: 'T', id, kind: 'object', content: JSON.stringify({ json: id }), version: 1, updatedAt: 0, ...extra });

async function* records(count: number, failAt?: number): AsyncGenerator<StoredRecord> {
  for (let i = 0; i < count; i++) {
    if (i === failAt) throw new Error(`source failed at ${i}`);
    // A pause between reads, as a File's stream has: the staging transactions must not depend on none.
    if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    yield record(`r${String(i).padStart(5, '0')}`);
  }
}

/** Wires the conformance suite and the backend's own tests; `where` names the place they run. */
export function indexedDbSuite(where: string): void {
  let current: IndexedDbBackend | undefined;
  const opened: string[] = [];
  const open = (name = freshName()) => {
    opened.push(name);
    return (current = new IndexedDbBackend({ name, messageTimeout: PATIENT }));
  };
  const teardown = async () => {
    for (const name of opened.splice(0)) await deleteDatabase(name);
  };
  backendSuite(`indexeddb (${where})`, () => open(), {
    atomicBatches: true,
    reopen: async (backend) => {
      await backend.close();
      return open((backend as IndexedDbBackend).databaseName);
    },
    // Another tab, as far as the database and the BroadcastChannel can tell.
    peer: (backend) => new IndexedDbBackend({ name: (backend as IndexedDbBackend).databaseName, messageTimeout: PATIENT }),
    peerSettles: () => current!.catchUp(),
    teardown,
  });

  const test = suite(`IndexedDbBackend (${where})`);
  test.after.each(teardown);

  test('options are checked where they enter, with exact messages', () => {
    assert.throws(() => new IndexedDbBackend({ name: '' }), (error: Error) => error instanceof InvalidOptionError && /name \(the database's name\) must be a non-empty string, got ""/.test(error.message));
    assert.throws(() => new IndexedDbBackend(undefined as never), (error: Error) => error instanceof InvalidOptionError);
    assert.throws(() => new IndexedDbBackend({ name: 'x', nmae: 'y' } as never), (error: Error) => /unknown option "nmae" \(did you mean "name"\?\)/.test(error.message));
    assert.throws(() => new IndexedDbBackend({ name: 'x', messageTimeout: -1 }), (error: Error) => /messageTimeout must be an integer >= 0, got number -1/.test(error.message));
  });

  test("the 'indexeddb' kind opens one by name, as Storage.configure does", async () => {
    const name = freshName();
    opened.push(name);
    const backend = openBackend('indexeddb', { name }, 'Storage.configure');
    assert.instance(backend, IndexedDbBackend);
    assert.is(backend.name, `indexeddb:${name}`);
    await backend.write({ type: 'T', id: 'a', kind: 'object', content: '{"json":1}' });
    await backend.close();
    assert.throws(() => openBackend('indexeddb', { name, path: 'x' } as never, 'Storage.configure'), /unknown option "path"/);
  });

  test('an import reads its source across many transactions yet is all or nothing: a source failing after several chunks leaves the store as it was, and nothing staged', async () => {
    const backend = open();
    await backend.write({ type: 'T', id: 'kept', kind: 'object', content: '{"json":"kept"}' });
    for (const replace of [false, true]) {
      await rejects(backend.importRecords(records(1600, 1234), { replace }), Error, /source failed at 1234/);
      assert.equal(await backend.list('T'), ['kept'], `replace: ${replace}`);
      const staged = await raw(backend.databaseName, [STAGING], (tx) => request(tx.objectStore(STAGING).count()));
      assert.is(staged, 0, 'the staged rows are deleted');
    }
    await backend.close();
  });

  test('a staged import of several chunks stores every record at once; another backend hears one reset', async () => {
    const backend = open();
    const other = new IndexedDbBackend({ name: backend.databaseName, messageTimeout: PATIENT });
    const heard: BackendChange[] = [];
    other.changes((changes) => heard.push(...changes));
    await backend.write({ type: 'T', id: 'gone', kind: 'object', content: '{"json":0}' });
    assert.is(await backend.importRecords(records(1600), { replace: true }), 1600);
    await other.catchUp();
    assert.equal(heard.at(-1), { reset: true });
    const ids = await other.list('T');
    assert.is(ids.length, 1600);
    assert.is(ids[0], 'r00000');
    assert.is(await other.exists('T', 'gone'), false, 'replace removed what was there');
    assert.equal(await other.load('T', 'r01599'), record('r01599'));
    await other.close();
    await backend.close();
  });

  test("a tab's save is seen by another backend's store once it has synced, and only that object is dropped", async () => {
    class Note extends Serializable {
      static override typeName = 'IdbNote';
      text = '';
    }
    const name = freshName();
    opened.push(name);
    const mine = new IndexedDbBackend({ name, messageTimeout: PATIENT });
    const theirs = new IndexedDbBackend({ name, messageTimeout: PATIENT });
    const store = new Store({ backend: mine });
    const other = new Store({ backend: theirs, registry: store.registry });
    const a = await store.save(Object.assign(new Note('a'), { text: 'mine' }));
    const b = await store.save(Object.assign(new Note('b'), { text: 'mine' }));
    await other.save(Object.assign(new Note('a'), { text: 'theirs' }));
    await mine.catchUp();
    assert.is(store.cache.peek(Note, 'a'), undefined);
    assert.is(store.cache.peek(Note, 'b'), b);
    assert.is((await store.load(Note, 'a')).text, 'theirs');
    assert.ok(a !== (await store.load(Note, 'a')));
    await store.close();
    await other.close();
  });

  test('strictReads: a cached load sees a commit whose message has not come (or never comes); without it, the cached copy stays', async () => {
    class Card extends Serializable {
      static override typeName = 'IdbCard';
      text = '';
    }
    const backend = open();
    assert.is(await backend.loadVersion('IdbCard', 'c'), undefined);
    const strict = new Store({ backend, strictReads: true });
    const laxBackend = new IndexedDbBackend({ name: backend.databaseName, messageTimeout: PATIENT });
    const lax = new Store({ backend: laxBackend, registry: strict.registry });
    const saved = await strict.save(Object.assign(new Card('c'), { text: 'one' }));
    assert.is(await backend.loadVersion('IdbCard', 'c'), 1);
    // Once the other store has heard of that save, its cached copy stays until it hears of another.
    await laxBackend.catchUp();
    await lax.load(Card, 'c');
    // Another tab writes and closes before its message: only the database knows.
    await raw(backend.databaseName, [OBJECTS], async (tx) => {
      const objects = tx.objectStore(OBJECTS);
      const stored = (await request(objects.get(['IdbCard', 'c']))) as StoredRecord;
      objects.put({ ...stored, version: 2, content: stored.content.replace('one', 'two') });
    });
    assert.is(await backend.loadVersion('IdbCard', 'c'), 2);
    const fresh = await strict.load(Card, 'c');
    assert.is(fresh.text, 'two', 'the strict store read it again');
    assert.ok(fresh !== saved);
    assert.is((await lax.load(Card, 'c')).text, 'one', 'the other store serves its cached copy until it hears');
    await strict.close();
    await lax.close();
  });

  test('catchUp() gives up on a commit whose message never came (its tab closed): a reset, then it goes on', async () => {
    const backend = open();
    const heard: BackendChange[] = [];
    backend.changes((changes) => heard.push(...changes));
    await backend.write({ type: 'T', id: 'a', kind: 'object', content: '{"json":1}' });
    // Another tab committed (the number moved) and closed before posting its message.
    await commitWithoutMessage(backend.databaseName);
    const short = new IndexedDbBackend({ name: backend.databaseName, messageTimeout: 20 });
    const shortHeard: BackendChange[] = [];
    short.changes((changes) => shortHeard.push(...changes));
    await short.catchUp();
    assert.equal(shortHeard, [], 'opened after that commit: nothing missing');
    await backend.close();
    const again = open(short.databaseName);
    await short.close();
    await commitWithoutMessage(again.databaseName);
    const lossy = new IndexedDbBackend({ name: again.databaseName, messageTimeout: 20 });
    await lossy.catchUp();
    const lossyHeard: BackendChange[] = [];
    lossy.changes((changes) => lossyHeard.push(...changes));
    await commitWithoutMessage(again.databaseName);
    await lossy.catchUp();
    assert.equal(lossyHeard, [{ reset: true }], 'the missing change is a reset');
    await again.write({ type: 'T', id: 'b', kind: 'object', content: '{"json":2}' });
    await lossy.catchUp();
    assert.equal(lossyHeard, [{ reset: true }, { type: 'T', id: 'b', version: 1, deleted: false }], 'later changes arrive one by one again');
    await lossy.close();
    await again.close();
    assert.ok(heard.length === 0);
  });

  test('a commit whose message never came, followed by one that did, is a reset without anyone calling catchUp()', async () => {
    const backend = open();
    const watcher = new IndexedDbBackend({ name: backend.databaseName, messageTimeout: 20 });
    await watcher.catchUp();
    const heard: BackendChange[] = [];
    watcher.changes((changes) => heard.push(...changes));
    await commitWithoutMessage(backend.databaseName);
    await backend.write({ type: 'T', id: 'after', kind: 'object', content: '{"json":1}' });
    for (let i = 0; i < 500 && heard.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(heard, [{ type: 'T', id: 'after', version: 1, deleted: false }, { reset: true }], 'the change heard, then the missing one as a reset');
    await backend.write({ type: 'T', id: 'later', kind: 'object', content: '{"json":2}' });
    await watcher.catchUp();
    assert.equal(heard.at(-1), { type: 'T', id: 'later', version: 1, deleted: false });
    assert.is(heard.length, 3, 'no further reset');
    await watcher.close();
    await backend.close();
  });

  test('a database deleted by another tab: this backend lets it go and says so (BackendError), and closes cleanly', async () => {
    const backend = open();
    await backend.write({ type: 'T', id: 'a', kind: 'object', content: '{"json":1}' });
    const heard: BackendChange[] = [];
    backend.changes((changes) => heard.push(...changes));
    await deleteDatabase(backend.databaseName);
    assert.equal(heard, [{ reset: true }]);
    await rejects(backend.load('T', 'a'), BackendError, /indexeddb:cuttle-test-.*: the database is gone \(another tab deleted or upgraded the database\)/);
    await backend.close();
    await rejects(backend.load('T', 'a'), ClosedError);
  });

  test('a batch asks for every stored version at once, yet one object written twice in it gets both versions, in order; a repeated id is deleted once', async () => {
    const backend = open();
    await backend.write({ type: 'T', id: 'a', kind: 'object', content: '{"json":0}' });
    const stored = await backend.writeMany([
      { type: 'T', id: 'a', kind: 'object', content: '{"json":1}' },
      { type: 'T', id: 'b', kind: 'object', content: '{"json":"b"}', expectedVersion: 0 },
      { type: 'T', id: 'a', kind: 'object', content: '{"json":2}', expectedVersion: 2 },
    ]);
    assert.equal(stored.map((r) => `${r.id} v${r.version}`), ['a v2', 'b v1', 'a v3']);
    assert.is((await backend.load('T', 'a'))?.content, '{"json":2}');
    const conflict = await rejects(
      backend.writeMany([
        { type: 'T', id: 'c', kind: 'object', content: '{}' },
        { type: 'T', id: 'c', kind: 'object', content: '{}', expectedVersion: 0 },
      ]),
      ConflictError,
    );
    assert.is(conflict.actualVersion, 1, 'the first write of c in the batch counts');
    assert.is(await backend.exists('T', 'c'), false, 'and the batch left nothing');
    assert.equal(await backend.deleteMany('T', ['a', 'a', 'missing', 'b']), [true, false, false, true]);
    assert.equal(await backend.list('T'), []);
    await backend.close();
  });

  test("a put that creates an object at version 7 reaches another store's kept id list (bug: the store took only version 1 for a creation; now a reset)", async () => {
    class Put extends Serializable {
      static override typeName = 'IdbPut';
    }
    const backend = open();
    const other = new IndexedDbBackend({ name: backend.databaseName, messageTimeout: PATIENT });
    const store = new Store({ backend });
    await store.save(new Put('x'));
    assert.equal(await store.list(Put), ['x']);
    const put = (id: string, version: number) => ({ type: 'IdbPut', id, kind: 'object' as const, content: '{"json":{}}', version, updatedAt: 0 });
    await other.putMany([put('x', 5)]);
    await backend.catchUp();
    assert.equal(store.cache.stats().outsideResets, 0, 'a put over a stored object: its new version, no reset');
    await other.putMany([put('z', 7)]);
    await backend.catchUp();
    assert.equal(await store.list(Put), ['x', 'z']);
    assert.equal(store.cache.stats().outsideResets, 1);
    await store.close();
    await other.close();
  });

  test("IndexedDB's own failure (a value it cannot clone) is a BackendError with the DOMException's name; nothing of the batch is stored", async () => {
    const backend = open();
    const unclonable = { ...record('bad'), content: (() => 'not a string') as unknown as string };
    const error = await rejects(backend.putMany([record('a'), unclonable, record('c')]), BackendError, /^indexeddb:cuttle-test-[^:]+: cannot put: .*\(DataCloneError\)$/);
    assert.is(error.systemCode, 'DataCloneError');
    assert.is(error.details.store, backend.name);
    assert.ok(error.cause instanceof DOMException);
    assert.equal(await backend.list('T'), []);
    await backend.close();
  });

  test('records() keeps compareIds order across chunks, with characters above U+FFFF', async () => {
    const backend: StorageBackend = open();
    const ids = Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? `😀${i}` : i % 3 === 1 ? `\uffff${i}` : `a${i}`));
    await backend.putMany(ids.map((id) => record(id)));
    const seen: string[] = [];
    for await (const stored of backend.records()) seen.push(stored.id);
    assert.equal(seen, await backend.list('T'));
    assert.is(seen.findIndex((id) => id.startsWith('😀')), 400, 'after every id of U+FFFF');
    await backend.close();
  });

  test('a store exported to a Blob and imported from a File into another database: every object back; a damaged File stores nothing', async () => {
    class Page extends Serializable {
      static override typeName = 'IdbPage';
      text = '';
      when = new Date(0);
    }
    const source = new Store({ backend: open() });
    const pages = Array.from({ length: 1100 }, (_, i) => Object.assign(new Page(i % 50 === 0 ? `😀${i}` : `p${i}`), { text: `page ${i} \u2028 "q"`, when: new Date(i) }));
    await source.saveMany(pages);
    const blob = await source.exportBlob();
    assert.is(blob.type, 'application/x-ndjson');
    const target = new Store({ backend: open(), registry: source.registry });
    await target.save(Object.assign(new Page('old'), { text: 'old' }));
    const file = new File([blob], 'dump.ndjson', { type: blob.type });
    assert.equal(await target.importBlob(file, { mode: 'replace' }), { count: 1100 }, 'more records than one staging chunk');
    assert.equal(await target.list(Page), await source.list(Page));
    assert.equal((await target.load(Page, '😀50')).when, new Date(50));
    const text = await blob.text();
    const truncated = new File([text.slice(0, text.lastIndexOf('{"format":"cuttle-dump-end"'))], 'cut.ndjson');
    await rejects(target.importBlob(truncated, { mode: 'replace' }), DumpFormatError, /the dump is truncated/);
    assert.is(await target.count(Page), 1100, 'the truncated import changed nothing');
    await source.close();
    await target.close();
  });

  test('a tab that becomes visible again (it may have been frozen, missing messages) resets the listeners; a hidden one does not', async () => {
    // Node has no document: a stand-in with the same event, made before the backend is.
    const page = globalThis.document === undefined ? Object.assign(new EventTarget(), { visibilityState: 'visible' }) : undefined;
    if (page) (globalThis as { document?: unknown }).document = page;
    const target = globalThis.document;
    let state: DocumentVisibilityState = 'hidden';
    Object.defineProperty(target, 'visibilityState', { configurable: true, get: () => state });
    try {
      const backend = open();
      const heard: BackendChange[] = [];
      backend.changes((changes) => heard.push(...changes));
      target.dispatchEvent(new Event('visibilitychange'));
      assert.equal(heard, [], 'hidden: nothing');
      state = 'visible';
      target.dispatchEvent(new Event('visibilitychange'));
      assert.equal(heard, [{ reset: true }]);
      await backend.close();
      target.dispatchEvent(new Event('visibilitychange'));
      assert.equal(heard, [{ reset: true }], 'a closed backend listens no more');
    } finally {
      if (page) delete (globalThis as { document?: unknown }).document;
      else delete (target as { visibilityState?: unknown }).visibilityState;
    }
  });

  const hasPageEvents = typeof globalThis.addEventListener === 'function' && typeof PageTransitionEvent === 'function';
  (hasPageEvents ? test : test.skip)(`a page restored from the back-forward cache resets the listeners; an ordinary page show does not${hasPageEvents ? '' : ' (skipped: no window events here, only in a browser)'}`, async () => {
    const backend = open();
    const heard: BackendChange[] = [];
    backend.changes((changes) => heard.push(...changes));
    globalThis.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: false }));
    assert.equal(heard, []);
    globalThis.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
    assert.equal(heard, [{ reset: true }]);
    await backend.close();
  });

  test.run();
}
