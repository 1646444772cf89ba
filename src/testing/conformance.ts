// The one suite every backend passes. A backend's spec file calls
//   backendSuite('name', () => new TheBackend(...), { reopen, atomicBatches })
// and then adds what is special to that backend.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ClosedError,
  compareIds,
  ConflictError,
  InvalidIdError,
  InvalidValueError,
  Serializable,
  Store,
  type RecordWrite,
  type StorageBackend,
  type StoredRecord,
} from '../core.js';
import { concurrencySuite } from './concurrency.js';
import { containerSuite } from './containers.js';
import { feedSuite } from './feed.js';
import { peerSuite } from './peer.js';
import { querySuite } from './query.js';
import { transactionSuite } from './transactions.js';
import { transactionQuerySuite } from './transaction-queries.js';
import { checkedDeleteSuite } from './checked-deletes.js';
import { versionSuite } from './versions.js';
import { namespaceSuite } from './namespaces.js';
import { searchIndexSuite } from './search-index.js';
import { rejects } from './assert.js';
import type { BackendSuiteOptions } from './options.js';

export type { BackendSuiteOptions } from './options.js';


interface Context {
  backend: StorageBackend;
}

/** Ids that are awkward for file names, URLs, SQL or JSON; every one must round-trip unchanged. */
export const AWKWARD_IDS: readonly string[] = [
  '../x', '../../etc/passwd', 'a/b', 'a\\b', '.', '..', '...', '.hidden', 'trailing.', 'trailing ',
  ' leading', 'CON', 'con', 'NUL.txt', 'com1', 'LPT9.json', 'a:b', '*?<>|"', '%2F', '%', 'a%b',
  "it's", 'x.json', 'x.json.tmp', 'x'.repeat(200), 'é', 'e\u0301', 'Ab', 'aB', 'ab', '日本語',
  '😀', '\uffff', '\ue000', 'a b', '~', '-', '_', '#', 'null', 'undefined', '__proto__',
  'constructor', 'z'.repeat(256), '😀'.repeat(256),
];

const STRINGS = {
  quotes: `"double" 'single' \`back\``,
  newlines: 'line1\nline2\r\nline3\ttab',
  separators: 'u2028:\u2028 u2029:\u2029',
  nul: 'before\u0000after',
  emoji: '😀 👩‍👩‍👧 🇫🇷',
  backslashes: '\\ \\\\ \\u0000 \\n',
  html: '</script><!--',
};

class Doc extends Serializable {
  static override typeName = 'Doc';
  body: unknown;
  constructor(id?: string, body?: unknown) {
    super(id);
    this.body = body;
  }
}

function w(type: string, id: string, content = '{"json":{}}', extra: Partial<RecordWrite> = {}): RecordWrite {
  return { type, id, kind: 'object', content, ...extra };
}

/** Runs the conformance suite against backends made by `makeBackend`. */
export function backendSuite(
  name: string,
  makeBackend: () => StorageBackend | Promise<StorageBackend>,
  options: BackendSuiteOptions = {},
): void {
  const test = suite<Context>(`conformance: ${name}`, {} as Context);

  test.before.each(async (context) => {
    context.backend = await makeBackend();
  });
  test.after.each(async (context) => {
    await context.backend.close();
    await options.teardown?.();
  });

  test('a missing record is undefined, not an error', async ({ backend }) => {
    assert.is(await backend.load('T', 'nope'), undefined);
    assert.is(await backend.exists('T', 'nope'), false);
    assert.is(await backend.count('T'), 0);
    assert.equal(await backend.list('T'), []);
    assert.is(await backend.delete('T', 'nope'), false);
  });

  test('write then load returns the record with version 1', async ({ backend }) => {
    const before = Date.now();
    const stored = await backend.write(w('T', 'a', '{"json":{"x":1}}'));
    assert.equal({ ...stored, updatedAt: 0 }, { type: 'T', id: 'a', kind: 'object', content: '{"json":{"x":1}}', version: 1, updatedAt: 0 });
    assert.ok(stored.updatedAt >= before - 1000 && stored.updatedAt <= Date.now() + 1000, 'updatedAt is now');
    assert.equal(await backend.load('T', 'a'), stored);
    assert.is(await backend.exists('T', 'a'), true);
  });

  test('each write adds one to the version and replaces the content', async ({ backend }) => {
    await backend.write(w('T', 'a', '{"json":1}'));
    const second = await backend.write(w('T', 'a', '{"json":2}', { kind: 'container' }));
    assert.is(second.version, 2);
    const third = await backend.write(w('T', 'a', '{"json":3}'));
    assert.is(third.version, 3);
    const loaded = await backend.load('T', 'a');
    assert.is(loaded?.content, '{"json":3}');
    assert.is(loaded?.version, 3);
    assert.is(await backend.count('T'), 1);
  });

  test('kind round-trips', async ({ backend }) => {
    await backend.write(w('T', 'c', '{"json":{}}', { kind: 'container' }));
    assert.is((await backend.load('T', 'c'))?.kind, 'container');
  });

  test('expectedVersion: the matching version writes, any other throws ConflictError', async ({ backend }) => {
    await backend.write(w('T', 'a', '{"json":1}', { expectedVersion: 0 }));
    await backend.write(w('T', 'a', '{"json":2}', { expectedVersion: 1 }));
    const stale = await rejects(backend.write(w('T', 'a', '{"json":"stale"}', { expectedVersion: 1 })), ConflictError);
    assert.is(stale.expectedVersion, 1);
    assert.is(stale.actualVersion, 2);
    assert.is(stale.code, 'ERR_CONFLICT');
    assert.is((await backend.load('T', 'a'))?.content, '{"json":2}', 'a conflicting write changes nothing');
    const exists = await rejects(backend.write(w('T', 'a', '{}', { expectedVersion: 0 })), ConflictError);
    assert.is(exists.actualVersion, 2);
    const missing = await rejects(backend.write(w('T', 'new', '{}', { expectedVersion: 3 })), ConflictError);
    assert.is(missing.actualVersion, 0);
    assert.is(await backend.exists('T', 'new'), false);
  });

  test('delete removes one record and reports whether it existed', async ({ backend }) => {
    await backend.write(w('T', 'a'));
    await backend.write(w('T', 'b'));
    assert.is(await backend.delete('T', 'a'), true);
    assert.is(await backend.delete('T', 'a'), false);
    assert.is(await backend.load('T', 'a'), undefined);
    assert.equal(await backend.list('T'), ['b']);
  });

  test('a deleted id starts again at version 1', async ({ backend }) => {
    await backend.write(w('T', 'a'));
    await backend.write(w('T', 'a'));
    await backend.delete('T', 'a');
    assert.is((await backend.write(w('T', 'a'))).version, 1);
  });

  test('types are separate namespaces', async ({ backend }) => {
    await backend.write(w('A', 'x', '{"json":"a"}'));
    await backend.write(w('B', 'x', '{"json":"b"}'));
    assert.is((await backend.load('A', 'x'))?.content, '{"json":"a"}');
    assert.is((await backend.load('B', 'x'))?.content, '{"json":"b"}');
    await backend.delete('A', 'x');
    assert.is(await backend.exists('B', 'x'), true);
    assert.equal(await backend.listTypes(), ['B']);
  });

  test('list is sorted by code point; listTypes lists types with objects', async ({ backend }) => {
    const ids = ['b', 'a', 'B', 'aa', '😀', '\uffff', '\ue000', 'é', '10', '9', 'a b'];
    for (const id of ids) await backend.write(w('T', id));
    await backend.write(w('Z.type', 'z'));
    await backend.write(w('A_type', 'z'));
    assert.equal(await backend.list('T'), [...ids].sort(compareIds));
    assert.equal(await backend.list('T'), ['10', '9', 'B', 'a', 'a b', 'aa', 'b', 'é', '\ue000', '\uffff', '😀']);
    await backend.delete('T', '😀'); // without a character above U+FFFF, the same order
    assert.equal(await backend.list('T'), ['10', '9', 'B', 'a', 'a b', 'aa', 'b', 'é', '\ue000', '\uffff']);
    await backend.write(w('T', '😀'));
    assert.equal(await backend.listTypes(), ['A_type', 'T', 'Z.type']);
    assert.is(await backend.count('T'), ids.length);
    await backend.delete('A_type', 'z');
    assert.equal(await backend.listTypes(), ['T', 'Z.type']);
  });

  test('clear removes everything', async ({ backend }) => {
    await backend.write(w('A', '1'));
    await backend.write(w('B', '2'));
    await backend.clear();
    assert.equal(await backend.listTypes(), []);
    assert.is(await backend.load('A', '1'), undefined);
    assert.is(await backend.count('B'), 0);
    await backend.write(w('A', '1'));
    assert.equal(await backend.list('A'), ['1'], 'usable after clear');
  });

  test('records() yields every record ordered by type, then id', async ({ backend }) => {
    await backend.write(w('B', 'b2'));
    await backend.write(w('A', 'a2'));
    await backend.write(w('B', 'b1'));
    await backend.write(w('A', 'a1'));
    const seen: string[] = [];
    for await (const record of backend.records()) seen.push(`${record.type}/${record.id}/${record.version}`);
    assert.equal(seen, ['A/a1/1', 'A/a2/1', 'B/b1/1', 'B/b2/1']);
  });

  test('put stores a record exactly as given; the next write continues its version', async ({ backend }) => {
    const record: StoredRecord = { type: 'T', id: 'p', kind: 'container', content: '{"json":[1]}', version: 7, updatedAt: 1234567890123 };
    await backend.put(record);
    assert.equal(await backend.load('T', 'p'), record);
    await backend.put({ ...record, version: 8, content: '{"json":[2]}' });
    assert.is((await backend.load('T', 'p'))?.content, '{"json":[2]}');
    assert.is((await backend.write(w('T', 'p'))).version, 9);
    await backend.putMany([{ ...record, id: 'q' }, { ...record, id: 'r' }]);
    assert.equal(await backend.list('T'), ['p', 'q', 'r']);
  });

  test('loadMany returns the records of the ids asked, in their order, undefined where none is stored', async ({ backend }) => {
    await backend.write(w('T', 'a', '{"json":"a"}'));
    await backend.write(w('T', 'b', '{"json":"b"}'));
    await backend.write(w('U', 'a', '{"json":"other type"}'));
    const records = await backend.loadMany('T', ['b', 'missing', 'a', 'b']);
    assert.equal(records.map((r) => r?.content), ['{"json":"b"}', undefined, '{"json":"a"}', '{"json":"b"}']);
    assert.equal(records[0], await backend.load('T', 'b'));
    assert.equal(await backend.loadMany('T', []), []);
    const many = Array.from({ length: 1200 }, (_, i) => `id${i}`);
    await backend.writeMany(many.map((id) => w('M', id, JSON.stringify({ json: id }))));
    assert.equal((await backend.loadMany('M', many)).map((r) => r?.id), many, 'more ids than one chunk');
  });

  test('deleteMany removes the ids asked and says which were stored', async ({ backend }) => {
    for (const id of ['a', 'b', 'c']) await backend.write(w('T', id));
    await backend.write(w('U', 'a'));
    assert.equal(await backend.deleteMany('T', ['c', 'missing', 'a']), [true, false, true]);
    assert.equal(await backend.list('T'), ['b']);
    assert.equal(await backend.list('U'), ['a'], 'another type keeps its object');
    assert.equal(await backend.deleteMany('T', []), []);
  });

  test('capabilities: every flag is a boolean and says which optional methods the backend has; atomicBatch and search are what the suite was told', ({ backend }) => {
    const capabilities = backend.capabilities;
    for (const flag of ['atomicBatch', 'atomicImport', 'changeFeed', 'transactions', 'query', 'search'] as const) {
      assert.type(capabilities[flag], 'boolean', flag);
    }
    assert.is(capabilities.atomicBatch, options.atomicBatches === true, 'atomicBatch matches what the suite was told');
    // A flag promises its methods; and the store answers queries and searches with the backend's
    // methods whenever it has them, so those two must also come with their flag.
    const methods = {
      changeFeed: ['changes'],
      query: ['find'],
      search: ['search', 'createSearchIndex'],
      transactions: ['transaction'],
    } as const;
    for (const [flag, names] of Object.entries(methods) as Array<[keyof typeof methods, readonly string[]]>) {
      for (const method of names) {
        const has = typeof (backend as unknown as Record<string, unknown>)[method] === 'function';
        if (capabilities[flag]) assert.ok(has, `capabilities.${flag} is true, but the backend has no ${method}()`);
        if (flag === 'query' || flag === 'search') assert.ok(capabilities[flag] || !has, `the backend has ${method}(), which the store uses, but capabilities.${flag} is false`);
      }
    }
  });

  test('writeMany stores every record and returns their versions', async ({ backend }) => {
    await backend.write(w('T', 'a'));
    const stored = await backend.writeMany([w('T', 'a'), w('T', 'b'), w('U', 'c')]);
    assert.equal(stored.map((r) => r.version), [2, 1, 1]);
    assert.equal(await backend.list('T'), ['a', 'b']);
    assert.equal(await backend.writeMany([]), []);
  });

  if (options.atomicBatches) {
    test('writeMany is all or nothing: a conflict in the batch writes none of it', async ({ backend }) => {
      await backend.write(w('T', 'a', '{"json":"old"}'));
      await rejects(backend.writeMany([w('T', 'b'), w('T', 'a', '{"json":"new"}', { expectedVersion: 5 }), w('T', 'c')]), ConflictError);
      assert.equal(await backend.list('T'), ['a']);
      assert.is((await backend.load('T', 'a'))?.content, '{"json":"old"}');
    });
  }

  test('awkward ids round-trip unchanged and stay distinct', async ({ backend }) => {
    for (const [i, id] of AWKWARD_IDS.entries()) await backend.write(w('T', id, JSON.stringify({ json: i })));
    assert.equal(await backend.list('T'), [...new Set(AWKWARD_IDS)].sort(compareIds));
    for (const [i, id] of AWKWARD_IDS.entries()) {
      const record = await backend.load('T', id);
      assert.is(record?.id, id, `id ${JSON.stringify(id)}`);
      assert.is(record?.content, JSON.stringify({ json: i }), `content of ${JSON.stringify(id)}`);
    }
    for (const id of AWKWARD_IDS) assert.ok(await backend.delete('T', id), `delete ${JSON.stringify(id)}`);
    assert.equal(await backend.list('T'), []);
  });

  test('a closed backend throws ClosedError', async ({ backend }) => {
    await backend.close();
    await rejects(backend.load('T', 'a'), ClosedError);
    await rejects(backend.write(w('T', 'a')), ClosedError);
    await rejects(backend.list('T'), ClosedError);
    await backend.close(); // idempotent
  });

  // Through a Store, with the cache off so every load reads this backend.
  test('documents round-trip through a store: rich types, awkward strings, several MB', async ({ backend }) => {
    const store = new Store({ backend, cache: false });
    const body = {
      ...STRINGS,
      date: new Date('2020-02-29T12:34:56.789Z'),
      map: new Map<unknown, unknown>([['k', 1], [2, new Set([1n])]]),
      big: 12345678901234567890n,
      nums: [NaN, Infinity, -Infinity, -0, 0, 1.5e300],
      nothing: undefined,
      regex: /a+b/gi,
      nested: { deep: [{ deeper: [new Date(0)] }] },
    };
    const doc = await store.save(new Doc('rich', body));
    assert.equal((await store.load(Doc, 'rich')).body, doc.body);
    const plain = await store.save(new Doc('plain', { ...STRINGS, list: [1, 'two', null, true, { x: [] }] }));
    assert.equal((await store.load(Doc, 'plain')).body, plain.body);
    const large = 'x'.repeat(3 * 1024 * 1024) + '😀\u2028\u0000"';
    await store.save(new Doc('large', large));
    assert.is((await store.load(Doc, 'large')).body, large);
  });

  test('saveMany writes nothing when one object cannot be encoded', async ({ backend }) => {
    const store = new Store({ backend });
    const unencodable = new Doc('bad', { index: new Map([[1, 2]]) });
    Object.defineProperty(unencodable.body, '__proto__', { value: 1, enumerable: true, configurable: true, writable: true });
    const docs = [new Doc('first', 1), new Doc('second', 2), unencodable, new Doc('last', 4)];
    await rejects(store.saveMany(docs), InvalidValueError, /^Doc "bad": body has a key named "__proto__"/);
    assert.equal(await backend.listTypes(), []);
  });

  test('invalid ids are rejected with InvalidIdError', async ({ backend }) => {
    const store = new Store({ backend });
    for (const id of ['', 'a\u0000b', 'tab\there', 'new\nline', 'x'.repeat(257), '\ud800', 42]) {
      await rejects(store.save(new Doc(id as string)), InvalidIdError);
      await rejects(store.get(Doc, id as string), InvalidIdError);
    }
    assert.equal(await backend.listTypes(), []);
  });

  if (options.reopen) {
    const reopen = options.reopen;
    test('everything survives close and reopen', async (context) => {
      await context.backend.write(w('T', 'a', '{"json":"kept"}'));
      await context.backend.write(w('T', 'a', '{"json":"kept2"}'));
      await context.backend.write(w('U', '../b'));
      context.backend = await reopen(context.backend);
      const record = await context.backend.load('T', 'a');
      assert.is(record?.content, '{"json":"kept2"}');
      assert.is(record?.version, 2);
      assert.equal(await context.backend.listTypes(), ['T', 'U']);
      assert.equal(await context.backend.list('U'), ['../b']);
    });
  }

  test.run();
  containerSuite(name, makeBackend, options);
  concurrencySuite(name, makeBackend, options);
  peerSuite(name, makeBackend, options);
  feedSuite(name, makeBackend, options);
  querySuite(name, makeBackend, options);
  checkedDeleteSuite(name, makeBackend, options);
  transactionSuite(name, makeBackend, options);
  transactionQuerySuite(name, makeBackend, options);
  versionSuite(name, makeBackend, options);
  namespaceSuite(name, makeBackend, options);
  searchIndexSuite(name, makeBackend, options);
}
