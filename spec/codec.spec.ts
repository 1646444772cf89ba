// Table-driven round trips of the codec, in the style of superjson's own tests: every rich type,
// alone and nested, must come back equal and of the same class.
import SuperJSON from 'superjson';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Codec } from '../src/codec.js';
import { CorruptDataError, InvalidValueError, Serializable, TypeRegistry } from '../src/index.js';
import { throwsError } from './helpers.js';

class Box extends Serializable {
  value: unknown;
}
class Inner extends Serializable {
  label = 'inner';
  when = new Date(5);
}
class Point extends Serializable {
  constructor(
    public x = 0,
    public y = 0,
  ) {
    super();
  }
  override toStorage() {
    return [this.x, this.y];
  }
  static fromStorage(data: unknown) {
    const [x, y] = data as [number, number];
    return new Point(x, y);
  }
}

function setup() {
  const registry = new TypeRegistry();
  const codec = new Codec(registry);
  const roundTrip = <T extends Serializable>(obj: T): { back: T; content: string } => {
    const info = registry.register(obj.constructor as never);
    const content = codec.encode(obj, info);
    return { back: codec.decode(content, info, obj.id) as T, content };
  };
  return { registry, codec, roundTrip };
}

const shared = { s: 1 };
const cyclic: Record<string, unknown> = { name: 'loop' };
cyclic.self = cyclic;

/** name -> value stored in Box.value; `plain` says whether the superjson-free path must take it. */
const cases: Record<string, { value: unknown; plain: boolean }> = {
  string: { value: 'hello "world"\n\u2028\u0000😀', plain: true },
  integer: { value: 42, plain: true },
  float: { value: -1.25e-10, plain: true },
  true: { value: true, plain: true },
  null: { value: null, plain: true },
  'empty object': { value: {}, plain: true },
  'empty array': { value: [], plain: true },
  'nested plain': { value: { a: [1, { b: ['c', null, false] }], d: { e: {} } }, plain: true },
  Date: { value: new Date('2024-01-02T03:04:05.006Z'), plain: false },
  'invalid Date': { value: new Date(NaN), plain: false },
  Map: { value: new Map<unknown, unknown>([['a', 1], [{ k: 1 }, 'object key'], [3, new Date(0)]]), plain: false },
  Set: { value: new Set([1, 'two', new Date(3)]), plain: false },
  BigInt: { value: -123456789012345678901234567890n, plain: false },
  RegExp: { value: /^a.*b$/imsu, plain: false },
  undefined: { value: undefined, plain: false },
  'undefined in array': { value: [1, undefined, 3], plain: false },
  'undefined property': { value: { a: undefined, b: 1 }, plain: false },
  NaN: { value: NaN, plain: false },
  Infinity: { value: Infinity, plain: false },
  '-Infinity': { value: -Infinity, plain: false },
  '-0': { value: -0, plain: false },
  'nested rich': { value: { list: [new Map([[1, new Set([new Date(1)])]])], n: { big: 1n } }, plain: false },
  'shared reference': { value: { a: shared, b: shared }, plain: false },
  'embedded Serializable': { value: { inner: Object.assign(new Inner(), { id: 'in-1' }) }, plain: false },
};

const test = suite('codec round trips');

for (const [name, { value, plain }] of Object.entries(cases)) {
  test(name, () => {
    const { roundTrip } = setup();
    const box = Object.assign(new Box('box'), { value });
    const { back, content } = roundTrip(box);
    assert.instance(back, Box);
    assert.is(back.id, 'box');
    if (value instanceof Date && Number.isNaN(value.getTime())) {
      assert.instance(back.value, Date); // dequal cannot compare NaN times
      assert.ok(Number.isNaN((back.value as Date).getTime()));
    } else {
      assert.equal(back.value, value);
    }
    if (typeof value === 'number') assert.ok(Object.is(back.value, value), `${String(value)} keeps its sign and identity`);
    assert.is(!content.includes('"meta"'), plain, plain ? 'took the plain JSON path' : 'carries superjson meta');
  });
}

test('documents whose only rich values are Dates are written exactly as superjson writes them', () => {
  const { codec, registry } = setup();
  const info = registry.register(Box);
  const values: unknown[] = [
    new Date(1),
    { when: new Date(2), list: [1, new Date(3), { deeper: [new Date(4)] }] },
    { 'dotted.key': { 'back\\slash': new Date(5), 'both.\\': new Date(6) } },
    [[new Date(7)], 'text', null, true],
  ];
  for (const value of values) {
    const box = Object.assign(new Box('d'), { value });
    const content = codec.encode(box, info);
    assert.is(content, JSON.stringify(SuperJSON.serialize({ value })), JSON.stringify(value));
    assert.equal((codec.decode(content, info, 'd') as Box).value, value);
  }
});

test('a Date under a key superjson refuses, or a shared Date, goes through superjson itself', () => {
  const { codec, registry } = setup();
  const info = registry.register(Box);
  // Elsewhere in the document such keys are plain data (superjson itself would refuse them).
  const awkward = { constructor: 'a plain string', prototype: { nested: [1] }, at: new Date(8) };
  const stored = codec.encode(Object.assign(new Box('k'), { value: awkward }), info);
  assert.ok(stored.endsWith(',"meta":{"values":{"value.at":["Date"]},"v":1}}'), 'the Date path, not superjson');
  assert.equal((codec.decode(stored, info, 'k') as Box).value, awkward);
  throwsError(() => codec.encode(Object.assign(new Box('c'), { value: { constructor: { at: new Date(1) } } }), info), InvalidValueError, /^Box "c": value has a key named "constructor"/);
  const shared = new Date(9);
  const back = codec.decode(codec.encode(Object.assign(new Box('s'), { value: [shared, shared] }), info), info, 's') as Box;
  const [x, y] = back.value as Date[];
  assert.ok(x === y, 'one Date instance, as stored');
});

test('shared references and cycles keep their identity', () => {
  const { roundTrip } = setup();
  const back = roundTrip(Object.assign(new Box(), { value: { a: shared, b: shared, c: cyclic } })).back.value as Record<string, any>;
  assert.ok(back.a === back.b, 'one shared object');
  assert.ok(back.c.self === back.c, 'a cycle stays a cycle');
});

test('an embedded Serializable comes back as its class with its id', () => {
  const { roundTrip } = setup();
  const inner = new Inner('in-2');
  const back = roundTrip(Object.assign(new Box(), { value: [inner] })).back.value as Inner[];
  assert.instance(back[0], Inner);
  assert.is(back[0]!.id, 'in-2');
  assert.equal(back[0]!.when, new Date(5));
});

test('an embedded cycle is refused with a message naming the way out', () => {
  const { codec, registry } = setup();
  const a = new Box('a');
  const b = new Box('b');
  a.value = b;
  b.value = a;
  throwsError(() => codec.encode(a, registry.register(Box)), TypeError, /Container/);
});

test('custom toStorage/fromStorage', () => {
  const { roundTrip } = setup();
  const { back, content } = roundTrip(new Point(3, 4));
  assert.instance(back, Point);
  assert.equal([back.x, back.y], [3, 4]);
  assert.is(content, '{"json":[3,4]}');
});

test('every own enumerable property is stored; functions, the id and #private are not', () => {
  class WithExtras extends Serializable {
    #secret = 's';
    visible = 1;
    handler = () => 'not data';
    get computed() {
      return this.#secret;
    }
  }
  const { roundTrip } = setup();
  const obj = new WithExtras('w');
  const { back, content } = roundTrip(obj);
  assert.is(content, '{"json":{"visible":1}}');
  assert.equal(Object.keys(back), ['id', 'visible']);
  assert.is(back.handler, undefined);
});

test('loading does not run the constructor', () => {
  let constructed = 0;
  class Counted extends Serializable {
    createdAt = new Date(0);
    constructor() {
      super();
      constructed++;
      this.createdAt = new Date();
    }
  }
  const { roundTrip } = setup();
  const obj = new Counted();
  obj.createdAt = new Date(42);
  const before = constructed;
  const { back } = roundTrip(obj);
  assert.is(constructed, before);
  assert.equal(back.createdAt, new Date(42));
  assert.instance(back, Counted);
});

test('prototype pollution: stored __proto__ and constructor keys stay plain data', () => {
  const { codec, registry } = setup();
  const info = registry.register(Box);
  const hostile = '{"json":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"value":{"__proto__":{"polluted":3}}}}';
  const back = codec.decode(hostile, info, 'h') as Box & Record<string, any>;
  assert.is(({} as any).polluted, undefined);
  assert.is((Object.prototype as any).polluted, undefined);
  assert.ok(Object.getPrototypeOf(back) === Box.prototype, 'keeps its class');
  assert.instance(back, Box);
  assert.equal(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { polluted: 1 });
  assert.is((back.value as any).polluted, undefined);
  // The same keys through superjson's meta paths are refused, not followed.
  const viaMeta = '{"json":{"value":{"__proto__":{"x":"1970-01-01T00:00:00.000Z"}}},"meta":{"values":{"value.__proto__.x":["Date"]},"v":1}}';
  throwsError(() => codec.decode(viaMeta, info, 'h2'), CorruptDataError, /Box "h2"/);
  assert.is(({} as any).x, undefined);
});

test('a stored key that the class has as an accessor is restored as data, without running the setter', () => {
  let setterRuns = 0;
  class Guarded extends Serializable {
    get name(): string {
      return 'from getter';
    }
    set name(_value: string) {
      setterRuns++;
    }
  }
  const { codec, registry } = setup();
  const back = codec.decode('{"json":{"name":"stored","save":1}}', registry.register(Guarded), 'g') as Guarded & Record<string, unknown>;
  assert.is(setterRuns, 0);
  assert.is(back.name, 'stored');
  assert.equal(Object.keys(back), ['id', 'name', 'save']);
});

test('an own __proto__ property round-trips as data', () => {
  const { roundTrip } = setup();
  const box = Object.assign(new Box('p'), { value: 1 });
  Object.defineProperty(box, '__proto__', { value: { a: 1 }, enumerable: true, writable: true, configurable: true });
  const { back } = roundTrip(box);
  assert.ok(Object.getPrototypeOf(back) === Box.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { a: 1 });
});

test('a __proto__ key beside a Date is stored as data; beside a value only superjson can write, it is an InvalidValueError naming the object and path', () => {
  const { codec, registry } = setup();
  const info = registry.register(Box);
  const dated = Object.assign(new Box('p'), { value: { when: new Date(0) } });
  Object.defineProperty(dated.value, '__proto__', { value: 1, enumerable: true, writable: true, configurable: true });
  const back = codec.decode(codec.encode(dated, info), info, 'p') as Box;
  assert.equal((back.value as { when: Date }).when, new Date(0));
  assert.is(Object.getOwnPropertyDescriptor(back.value, '__proto__')?.value, 1);
  assert.ok(Object.getPrototypeOf(back.value) === Object.prototype);
  const mapped = Object.assign(new Box('q'), { value: { index: new Map([[1, 2]]) } });
  Object.defineProperty(mapped.value, '__proto__', { value: 1, enumerable: true, writable: true, configurable: true });
  throwsError(() => codec.encode(mapped, info), InvalidValueError, /^Box "q": value has a key named "__proto__", which cuttle cannot store/);
});

test('damaged content is a CorruptDataError naming type and id', () => {
  const { codec, registry } = setup();
  const info = registry.register(Box);
  for (const content of ['not json', '{"jsn":{}}', '[]', 'null', '{"json":[1,2]}', '{"json":{},"meta":{"values":{"x":["nonsense"]}}}']) {
    throwsError(() => codec.decode(content, info, 'bad'), CorruptDataError, /Box "bad"/);
  }
});

test.run();
