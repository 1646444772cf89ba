// What a document may hold (docs/guide.md): every kind of value either loads back as it was saved
// or is refused at save, naming the object and the property path, before anything is written.
import SuperJSON from 'superjson';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Container, InMemoryBackend, InvalidValueError, Serializable, Store } from '../src/index.js';
import { Doc, Part } from './documents.js';
import { rejects } from './helpers.js';

class Shelf extends Container {
  static override typeName = 'Shelf';
  value: unknown;
}

/** Saves `value` in a Doc and loads it back from the record (not the cache). */
async function roundTrip(value: unknown): Promise<unknown> {
  const store = new Store();
  await store.save(Object.assign(new Doc('d'), { value }));
  return (await store.load(Doc, 'd', { cache: false })).value;
}

const bytes = (view: ArrayBufferView) => [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)];

class Thing {
  n = 1;
}

/** name -> [value, what it loads back as must satisfy]. */
const roundTrips: Record<string, [unknown, (back: any) => void]> = {
  Buffer: [
    Buffer.from('hi'),
    (back) => {
      assert.ok(Buffer.isBuffer(back), 'a Buffer where Node has one');
      assert.is(back.toString(), 'hi');
    },
  ],
  ...Object.fromEntries(
    (
      [
        [Int8Array, [-128, 0, 127]],
        [Uint8Array, [0, 1, 255]],
        [Uint8ClampedArray, [0, 128, 255]],
        [Int16Array, [-32768, 1, 32767]],
        [Uint16Array, [0, 258, 65535]],
        [Int32Array, [-2147483648, 5, 2147483647]],
        [Uint32Array, [0, 1, 4294967295]],
        [Float32Array, [NaN, -0, Infinity, -Infinity, 1.5]],
        [Float64Array, [NaN, -0, Infinity, -Infinity, 0.1, Number.MAX_VALUE]],
        [BigInt64Array, [-(2n ** 63n), 0n, 2n ** 63n - 1n]],
        [BigUint64Array, [0n, 2n ** 64n - 1n]],
      ] as Array<[new (values: unknown[]) => ArrayLike<unknown>, unknown[]]>
    ).map(([View, values]) => [
      View.name,
      [
        new View(values),
        (back: any) => {
          assert.ok(Object.getPrototypeOf(back) === View.prototype, `a ${View.name}`);
          // Object.is, element by element: NaN and -0 must survive (superjson's own form turns them into 0).
          assert.is(back.length, values.length);
          values.forEach((expected, i) => assert.ok(Object.is(back[i], expected), `[${i}]: ${String(back[i])} is ${String(expected)}`));
        },
      ],
    ]),
  ),
  'a typed array over part of a buffer (only its own bytes)': [
    new Uint16Array([1, 2, 3, 4]).subarray(1, 3),
    (back) => {
      assert.equal([...back], [2, 3]);
      assert.is(back.byteOffset, 0);
      assert.is(back.buffer.byteLength, 4);
    },
  ],
  ArrayBuffer: [
    new Uint8Array([1, 2, 3]).buffer,
    (back) => {
      assert.instance(back, ArrayBuffer);
      assert.equal([...new Uint8Array(back)], [1, 2, 3]);
    },
  ],
  DataView: [
    new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2),
    (back) => {
      assert.instance(back, DataView);
      assert.equal(bytes(back), [8, 7]);
    },
  ],
  Error: [
    new Error('boom'),
    (back) => {
      assert.ok(Object.getPrototypeOf(back) === Error.prototype);
      assert.is(back.message, 'boom');
    },
  ],
  'TypeError with a cause and own properties': [
    Object.assign(new TypeError('bad', { cause: new RangeError('inner') }), { code: 'E_BAD', at: new Date(3) }),
    (back) => {
      assert.instance(back, TypeError);
      assert.is(back.message, 'bad');
      assert.instance(back.cause, RangeError);
      assert.is(back.cause.message, 'inner');
      assert.is(back.code, 'E_BAD');
      assert.equal(back.at, new Date(3));
    },
  ],
  'Error with a name of its own': [
    Object.assign(new Error('x'), { name: 'NotFound' }),
    (back) => {
      assert.ok(Object.getPrototypeOf(back) === Error.prototype);
      assert.is(back.name, 'NotFound');
    },
  ],
  URL: [
    new URL('https://example.com/a?b=1#c'),
    (back) => {
      assert.instance(back, URL);
      assert.is(back.href, 'https://example.com/a?b=1#c');
    },
  ],
  'binary data and errors inside Maps and Sets': [
    new Map<unknown, unknown>([[new Uint8Array([1]), new Set([new Float32Array([2.5]), new URIError('u')])]]),
    (back) => {
      const [[key, members]] = [...back];
      assert.instance(key, Uint8Array);
      const [floats, error] = [...members];
      assert.equal([...floats], [2.5]);
      assert.instance(error, URIError);
    },
  ],
  'one typed array held twice stays one': [
    ((shared) => ({ a: shared, b: shared }))(new Int32Array([7])),
    (back) => assert.ok(back.a === back.b),
  ],
};

const test = suite('what a document may hold');

for (const [name, [value, check]] of Object.entries(roundTrips)) {
  test(`round trip: ${name}`, async () => check(await roundTrip(value)));
}

test('a Buffer field saves and loads back (bug: the save succeeded and every load threw CorruptDataError "unknown typed array")', async () => {
  const store = new Store();
  const doc = Object.assign(new Doc('b'), { value: { u: Buffer.from('hi') } });
  await store.save(doc);
  const back = await store.load(Doc, 'b', { cache: false });
  assert.is((back.value as { u: Buffer }).u.toString(), 'hi');
});

/** name -> [value stored in Doc.value, message after 'Doc "r": ', path]. */
const refusals: Record<string, [unknown, RegExp, string]> = {
  WeakMap: [new WeakMap(), /^value holds a WeakMap, which cuttle cannot store: .*use a Map/, 'value'],
  'WeakSet, deep inside': [{ body: { tags: ['a', 'b', new WeakSet()] } }, /^value\.body\.tags\[2\] holds a WeakSet, which cuttle cannot store: .*use a Set/, 'value.body.tags[2]'],
  WeakRef: [{ ref: new WeakRef({}) }, /^value\.ref holds a WeakRef/, 'value.ref'],
  FinalizationRegistry: [new FinalizationRegistry(() => {}), /^value holds a FinalizationRegistry/, 'value'],
  Promise: [[Promise.resolve(1)], /^value\[0\] holds a Promise, .*await it/, 'value[0]'],
  Symbol: [{ s: Symbol('tag') }, /^value\.s holds a Symbol \(Symbol\(tag\)\), which cuttle cannot store/, 'value.s'],
  'a function below the top level': [{ onClick: function onClick() {} }, /^value\.onClick holds a function \(onClick\), which cuttle cannot store/, 'value.onClick'],
  'a class instance that is not a Serializable': [{ thing: new Thing() }, /^value\.thing holds an instance of Thing, which cuttle cannot store: it is not a Serializable.*make Thing extend Serializable.*give Doc toStorage\(\)/, 'value.thing'],
  'a subclass of Error': [new (class HttpError extends Error {})('x'), /^value holds an instance of HttpError, a subclass of Error/, 'value'],
  'a subclass of Map': [new (class Registry extends Map {})(), /^value holds an instance of Registry/, 'value'],
  'a subclass of Uint8Array': [new (class Bytes extends Uint8Array {})(2), /^value holds an instance of Bytes/, 'value'],
  'a boxed string': [new String('s'), /^value holds an instance of String/, 'value'],
  SharedArrayBuffer: [new SharedArrayBuffer(4), /^value holds a SharedArrayBuffer/, 'value'],
  'a sparse array': [[1, , 3], /^value holds a sparse array \(nothing at \[1\]\)/, 'value'],
  'a Map key': [new Map([[new Thing(), 1]]), /^value\.keys\(\)\[0\] holds an instance of Thing/, 'value.keys()[0]'],
  'a Map value': [new Map([['k', new WeakMap()]]), /^value\.get\("k"\) holds a WeakMap/, 'value.get("k")'],
  'a Set member': [new Set([1, Symbol.iterator]), /^value\.values\(\)\[1\] holds a Symbol/, 'value.values()[1]'],
  "an Error's property": [Object.assign(new Error('e'), { handle: new WeakMap() }), /^value\.handle holds a WeakMap/, 'value.handle'],
};

for (const [name, [value, message, path]] of Object.entries(refusals)) {
  test(`refused at save, naming the object and the path: ${name}`, async () => {
    const store = new Store();
    const error = await rejects(store.save(Object.assign(new Doc('r'), { value })), InvalidValueError);
    assert.match(error.message, /^Doc "r": /);
    assert.match(error.message.slice('Doc "r": '.length), message);
    assert.equal(error.where, { type: 'Doc', id: 'r', path });
    assert.is(error.code, 'ERR_INVALID_VALUE');
    assert.is(await store.count(Doc), 0, 'nothing was written');
  });
}

test('a non-Serializable class instance is refused instead of loading as a plain object (bug: it silently lost its class)', async () => {
  await rejects(new Store().save(Object.assign(new Doc('t'), { value: new Thing() })), InvalidValueError, /Thing/);
});

test('a WeakMap is refused instead of loading as {}, a Symbol instead of vanishing (bug: both were stored silently)', async () => {
  await rejects(new Store().save(Object.assign(new Doc('w'), { value: { cache: new WeakMap() } })), InvalidValueError, /value\.cache holds a WeakMap/);
  await rejects(new Store().save(Object.assign(new Doc('s'), { value: { tag: Symbol('x') } })), InvalidValueError, /value\.tag holds a Symbol/);
});

test('a refusal in a batch writes nothing of the batch', async () => {
  const store = new Store();
  await rejects(store.saveMany([Object.assign(new Doc('ok'), { value: 1 }), Object.assign(new Doc('bad'), { value: new WeakSet() })]), InvalidValueError, /Doc "bad"/);
  assert.is(await store.count(Doc), 0);
});

test('in a container, values are refused as in a document; stored objects in it stay references', async () => {
  const store = new Store();
  const shelf = Object.assign(new Shelf('s'), { value: { parts: [Object.assign(new Part('p'), { value: 1 })], bad: new Thing() } });
  const error = await rejects(store.save(shelf), InvalidValueError, /^Shelf "s": value\.bad holds an instance of Thing/);
  assert.equal(error.where, { type: 'Shelf', id: 's', path: 'value.bad' });
  assert.is(await store.count(Part), 0, 'not even the part the cascade would have saved');
});

test('inside an embedded object, the refusal names the record being saved, the path and the embedded object', async () => {
  const store = new Store();
  const part = Object.assign(new Part('p'), { value: { handle: new WeakRef({}) } });
  const error = await rejects(store.save(Object.assign(new Doc('outer'), { value: [part] })), InvalidValueError);
  assert.is(error.message.split(' which')[0], 'Doc "outer": value[0].value.handle (in the embedded Part "p") holds a WeakRef,');
  assert.equal(error.where, { type: 'Doc', id: 'outer', path: 'value[0].value.handle' });
});

test("toStorage()'s value is checked as a document: a function anywhere in it is refused", async () => {
  class Custom extends Serializable {
    override toStorage() {
      return { n: 1, f: () => 2 };
    }
    static fromStorage(data: unknown) {
      return Object.assign(new Custom(), data);
    }
  }
  await rejects(new Store().save(new Custom('c')), InvalidValueError, /^Custom "c": f holds a function/);
});

test('function-valued properties of the object itself are still skipped, as methods', async () => {
  const store = new Store();
  const doc = Object.assign(new Doc('m'), { value: new Map([[1, 2]]), handler: () => 1 });
  await store.save(doc);
  const back = (await store.load(Doc, 'm', { cache: false })) as Doc & { handler?: unknown };
  assert.is(back.handler, undefined);
  assert.equal(back.value, new Map([[1, 2]]));
});

test('symbol-keyed properties are not part of a document, at any depth, as for structuredClone', async () => {
  const key = Symbol('meta');
  const back = (await roundTrip({ plain: { [key]: 1, a: 1 }, rich: { [key]: 1, m: new Map() } })) as Record<string, Record<PropertyKey, unknown>>;
  assert.equal(Object.getOwnPropertySymbols(back.plain!), []);
  assert.equal(Object.getOwnPropertySymbols(back.rich!), []);
  assert.is(back.plain!.a, 1);
});

test('a record with a Buffer written by an earlier cuttle is reported by verify, naming type and id (bug: verify said "no problems")', async () => {
  const backend = new InMemoryBackend();
  // What the earlier codec wrote for { value: Buffer.from('hi') }: superjson's typed-array form, which no load can read.
  const old = JSON.stringify(SuperJSON.serialize({ value: Buffer.from('hi') }));
  assert.match(old, /"typed-array","Buffer"/);
  await backend.write({ type: 'Doc', id: 'old', kind: 'object', content: old });
  await backend.write({ type: 'Doc', id: 'fine', kind: 'object', content: '{"json":{"value":1}}' });
  // verify needs no class: the CLI has none.
  const report = await new Store({ backend }).verify();
  assert.is(report.checked, 2);
  assert.is(report.unreadable.length, 1);
  assert.is(report.unreadable[0]!.type, 'Doc');
  assert.is(report.unreadable[0]!.id, 'old');
  assert.match(report.unreadable[0]!.error, /^Doc "old": cannot decode document .*unknown typed array/);
});

test('verify decodes embedded objects too, without their classes', async () => {
  const backend = new InMemoryBackend();
  const writer = new Store({ backend });
  await writer.save(Object.assign(new Doc('good'), { value: [Object.assign(new Part('p'), { value: new Map([[1, new Uint8Array([1])]]) })] }));
  // An embedded document an earlier cuttle wrote with a Buffer inside.
  const inner = JSON.stringify(SuperJSON.serialize({ value: Buffer.from('x') }));
  const outer = JSON.stringify({ json: { value: { type: 'Part', id: 'q', content: inner } }, meta: { values: { value: [['custom', 'cuttle.embedded']] }, v: 1 } });
  await backend.write({ type: 'Doc', id: 'bad', kind: 'object', content: outer });
  const report = await new Store({ backend }).verify();
  assert.equal(
    report.unreadable.map(({ type, id }) => `${type}/${id}`),
    ['Doc/bad'],
  );
  assert.match(report.unreadable[0]!.error, /^Doc "bad": cannot decode document \(the embedded Part "q": cannot decode document \(.*unknown typed array/);
});

test.run();
