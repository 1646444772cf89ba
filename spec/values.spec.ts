// What a document may hold (docs/guide.md): every kind of value either loads back as it was saved
// or is refused at save, naming the object and the property path, before anything is written.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Serializable, Store } from '../src/index.js';

class Doc extends Serializable {
  static override typeName = 'Doc';
  value: unknown;
}

/** Saves `value` in a Doc and loads it back from the record (not the cache). */
async function roundTrip(value: unknown): Promise<unknown> {
  const store = new Store();
  await store.save(Object.assign(new Doc('d'), { value }));
  return (await store.load(Doc, 'd', { cache: false })).value;
}

const bytes = (view: ArrayBufferView) => [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)];

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

test.run();
