// One nesting limit, MAX_DEPTH levels of stored JSON, with one error, for save and for import alike.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DumpFormatError, InvalidValueError, MAX_DEPTH, Store, type StoredRecord } from '../src/index.js';
import { Doc, Part } from './documents.js';
import { rejects } from './helpers.js';


/** `leaf` inside `levels` nested objects `{ a: ... }`. */
function nest(levels: number, leaf: unknown): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

/** A Doc whose document nests `depth` levels: its own object, then depth - 1 objects in `value`. */
const docOfDepth = (id: string, depth: number, leaf: unknown) => Object.assign(new Doc(id), { value: nest(depth - 1, leaf) });

/** The content text of a Doc of `depth` levels of plain JSON, written by hand as a dump could hold it. */
const contentOfDepth = (depth: number) => '{"json":{"value":' + '{"a":'.repeat(depth - 1) + '1' + '}'.repeat(depth - 1) + '}}';

const record = (id: string, content: string): StoredRecord => ({ type: 'Doc', id, kind: 'object', version: 1, updatedAt: 0, content });
const dump = (...records: StoredRecord[]) => ({ header: { format: 'cuttle-dump', version: 1 }, records }) as never;

const test = suite('one depth limit');

test('the limit is 1000 levels', () => {
  assert.is(MAX_DEPTH, 1000);
});

for (const [kind, leaf] of [
  ['plain', 1],
  ['rich (through superjson)', 1n],
] as const) {
  test(`${kind}: a document of exactly ${MAX_DEPTH} levels saves and loads; one level more is an InvalidValueError naming type, id and the limit`, async () => {
    const store = new Store();
    await store.save(docOfDepth('deep', MAX_DEPTH, leaf));
    const back = await store.load(Doc, 'deep', { cache: false });
    let value = back.value as { a: unknown };
    for (let i = 0; i < MAX_DEPTH - 2; i++) value = value.a as { a: unknown };
    assert.is(value.a, leaf);
    await store.save(back);
    const error = await rejects(store.save(docOfDepth('deeper', MAX_DEPTH + 1, leaf)), InvalidValueError);
    assert.match(error.message, /^Doc "deeper" nests deeper than 1000 levels, the most cuttle stores in one document/);
    assert.equal({ type: error.where.type, id: error.where.id }, { type: 'Doc', id: 'deeper' });
    assert.match(error.where.path!, /^value\.a\.a\.a.*…$/);
    assert.is(await store.exists(Doc, 'deeper'), false);
  });

  test(`${kind}: a document 100,000 levels deep is an InvalidValueError (bug: a raw RangeError from the stack)`, async () => {
    await rejects(new Store().save(docOfDepth('x', 100_000, leaf)), InvalidValueError, /nests deeper than 1000 levels/);
  });
}

test('a Map counts two levels, as superjson writes it as a list of pairs, even when it holds no object', async () => {
  const store = new Store();
  // docOfDepth(d, leaf): the leaf sits at level d + 1.
  await store.save(docOfDepth('m', MAX_DEPTH - 2, new Map([['k', 1]])));
  await rejects(store.save(docOfDepth('n', MAX_DEPTH - 1, new Map([['k', 1]]))), InvalidValueError, /^Doc "n" nests deeper/);
  // An empty Map is one level: an empty list.
  await store.save(docOfDepth('o', MAX_DEPTH - 1, new Map()));
  // So is an Error, whose properties are one level further.
  await store.save(docOfDepth('e', MAX_DEPTH - 1, new Error('x')));
  await rejects(store.save(docOfDepth('f', MAX_DEPTH - 1, Object.assign(new Error('x'), { code: 1 }))), InvalidValueError, /^Doc "f" nests deeper/);
});

test("an embedded object's document counts from where it sits in its parent's, and the error names the record saved", async () => {
  const store = new Store();
  const part = (levels: number) => Object.assign(new Part('p'), { value: nest(levels - 1, 1) }); // a document of `levels`
  // The part sits at level 500 (Doc, then value and 498 more); its document, 501 levels, takes its place: 999 + 1.
  await store.save(Object.assign(new Doc('fits'), { value: nest(498, part(501)) }));
  const error = await rejects(store.save(Object.assign(new Doc('over'), { value: nest(498, part(502)) })), InvalidValueError);
  assert.match(error.message, /^Doc "over" nests deeper than 1000 levels/);
  assert.is(error.where.type, 'Doc');
});

test('import refuses content deeper than the limit with a DumpFormatError carrying save\'s message and the line', async () => {
  const store = new Store();
  const saveError = await rejects(store.save(docOfDepth('deep', MAX_DEPTH + 1, 1)), InvalidValueError);
  const error = await rejects(store.importData(dump(record('a', contentOfDepth(2)), record('deep', contentOfDepth(MAX_DEPTH + 1)))), DumpFormatError);
  assert.is(error.line, 3);
  assert.is(error.message, `dump line 3: ${saveError.message}`);
  assert.is(await store.count(Doc), 0);
});

test('a document of exactly the limit imports, loads and saves again; so does one exported from a store', async () => {
  const store = new Store();
  await store.importData(dump(record('hand', contentOfDepth(MAX_DEPTH))));
  await store.save(await store.load(Doc, 'hand'));
  const source = new Store();
  await source.saveMany([docOfDepth('plain', MAX_DEPTH, 1), docOfDepth('rich', MAX_DEPTH, 1n), docOfDepth('map', MAX_DEPTH - 2, new Map([[1, 2]]))]);
  const target = new Store();
  assert.equal(await target.importData(await source.exportData()), { count: 3 });
  for (const id of ['plain', 'rich', 'map']) await target.save(await target.load(Doc, id));
});

test('a document 100,000 levels deep is refused at import (bug: it imported and loaded, but could not be saved again)', async () => {
  const store = new Store();
  await rejects(store.importData(dump(record('x', contentOfDepth(100_000)))), DumpFormatError, /^dump line 2: Doc "x" nests deeper than 1000 levels/);
  assert.is(await store.count(Doc), 0);
});

test('import counts the documents of embedded objects from where they sit, as save does', async () => {
  /** A Doc embedding a Part at level k + 2 whose document nests m + 1 levels: k + m + 2 in all. */
  const embedding = (k: number, m: number) => {
    const inner = JSON.stringify({ json: { value: nest(m, 1) } });
    const path = ['value', ...Array<string>(k).fill('a')].join('.');
    const wrapper = JSON.stringify({ type: 'Part', id: 'p', content: inner });
    return '{"json":{"value":' + '{"a":'.repeat(k) + wrapper + '}'.repeat(k) + `},"meta":{"values":{${JSON.stringify(path)}:[["custom","cuttle.embedded"]]},"v":1}}`;
  };
  const store = new Store();
  store.register(Part);
  await rejects(store.importData(dump(record('over', embedding(499, 500)))), DumpFormatError, /^dump line 2: Doc "over" nests deeper than 1000 levels/);
  await store.importData(dump(record('fits', embedding(499, 499))));
  const loaded = await store.load(Doc, 'fits');
  await store.save(loaded);
});

/** A small random document (seeded): objects, arrays, Maps, Sets, Errors, embedded Parts, binary data, shared objects. */
function randomValue(next: () => number, levels: number, pool: object[]): unknown {
  const pick = <T,>(items: T[]): T => items[Math.floor(next() * items.length)]!;
  if (levels <= 0 || next() < 0.2) return pick<() => unknown>([() => 1, () => 'x', () => 2n, () => undefined, () => new Date(1), () => new Uint8Array([1]), () => (pool.length ? pick(pool) : null)])();
  const n = 1 + Math.floor(next() * 3);
  const child = () => randomValue(next, levels - 1, pool);
  let value: object;
  switch (pick(['object', 'array', 'map', 'set', 'error', 'part'])) {
    case 'object':
      value = Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, child()]));
      break;
    case 'array':
      value = Array.from({ length: n }, child);
      break;
    case 'map':
      value = new Map(Array.from({ length: n }, (_, i) => [next() < 0.3 ? child() : `k${i}`, child()]));
      break;
    case 'set':
      value = new Set(Array.from({ length: n }, child));
      break;
    case 'error':
      value = Object.assign(new Error('e', { cause: child() }), next() < 0.5 ? { code: child() } : {});
      break;
    default:
      // Embedded objects take nothing from the pool: a shared one could embed itself.
      return Object.assign(new Part(`p${Math.floor(next() * 1e9)}`), { value: randomValue(next, levels - 1, []) });
  }
  if (next() < 0.3) pool.push(value);
  return value;
}

test('save and import count alike: what save takes at the limit imports, one level more does not (random documents)', async () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const store = new Store();
  store.register(Part);
  const saves = (id: string, value: unknown) => store.save(Object.assign(new Doc(id), { value })).then(() => true, (error) => {
    if (error instanceof InvalidValueError && /nests deeper/.test(error.message)) return false;
    throw error;
  });
  for (let trial = 0; trial < 12; trial++) {
    const small = randomValue(next, 6, []);
    // The most levels of { a: ... } around it that save takes.
    let low = 0;
    let high = MAX_DEPTH;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (await saves(`t${trial}`, nest(middle, small))) low = middle;
      else high = middle - 1;
    }
    assert.ok(await saves(`t${trial}`, nest(low, small)));
    const { content } = (await store.backend.load('Doc', `t${trial}`))!;
    const target = new Store();
    target.register(Part);
    await target.importData(dump(record('x', content)));
    // The same content one level deeper, made by hand: json.value wrapped once more, superjson's paths moved down.
    const envelope = JSON.parse(content);
    envelope.json.value = { a: envelope.json.value };
    const down = (path: string) => (path === 'value' ? 'value.a' : path.startsWith('value.') ? `value.a.${path.slice(6)}` : path);
    const { values, referentialEqualities } = envelope.meta ?? {};
    if (values && !Array.isArray(values)) envelope.meta.values = Object.fromEntries(Object.entries(values).map(([path, tree]) => [down(path), tree]));
    if (referentialEqualities && !Array.isArray(referentialEqualities)) {
      envelope.meta.referentialEqualities = Object.fromEntries(Object.entries(referentialEqualities as Record<string, string[]>).map(([path, paths]) => [down(path), paths.map(down)]));
    }
    await rejects(target.importData(dump(record('x', JSON.stringify(envelope)))), DumpFormatError, /nests deeper than 1000 levels/);
  }
});

test.run();
