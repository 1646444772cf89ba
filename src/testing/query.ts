// Queries on any backend: part of the conformance suite (backendSuite calls querySuite). A fixed
// data set (numbers, BigInts, Dates, unicode strings, nested objects and arrays, missing fields,
// nulls, undefined, mixed types, references) is saved once; then hundreds of generated queries
// (random where trees, sorts, skips and limits, from a seeded PRNG so a failure repeats) must give
// exactly the reference evaluator's answer over the objects in memory, in order, through find,
// count, findOne and findEach. Whatever a backend compiles or leaves to the evaluator, the answer
// is the same.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Container, evaluateQuery, InvalidQueryError, Serializable, Store, toQuery, type FindOptions, type StorageBackend, type Where } from '../core.js';
import type { BackendSuiteOptions } from './options.js';
import { rejects } from './assert.js';
import { seededRandom } from './random.js';

class Item extends Serializable {
  static override typeName = 'QItem';
  static indexes = ['n', 's', 'nested.x'];
  [field: string]: unknown;
}
class Owner extends Serializable {
  static override typeName = 'QOwner';
  name = '';
}
class Holder extends Container {
  static override typeName = 'QHolder';
  label = '';
  owner?: Owner;
  items: Item[] = [];
}

class Text extends Serializable {
  static override typeName = 'QText';
  static searchable = ['title', 'body'];
  title = '';
  body = '';
  tags: string[] = [];
}

/** A class at type version 1, then 2 (below), which keeps the points as `score`, ten times bigger. */
class ScoreV1 extends Serializable {
  static override typeName = 'QueryScore';
  points = 0;
}
class ScoreV2 extends Serializable {
  static override typeName = 'QueryScore';
  static version = 2;
  static upgrade(data: { points: number }): { score: number } {
    return { score: data.points * 10 };
  }
  score = 0;
}

/** A class whose records the test below writes as raw content. */
class Raw extends Serializable {
  static override typeName = 'QRaw';
  n: unknown = undefined;
}

/** A class whose objects the test of held records keeps in one store's cache. */
class Kept extends Serializable {
  static override typeName = 'QKept';
  n = 0;
}

const TEXTS = [
  ['a', 'Buy milk', 'and eggs and bread for the week', []],
  ['b', 'Milk chocolate', '', []],
  ['c', 'Café au lait', 'coffee with milk, MILK', []],
  ['d', 'Buying a house', 'mortgage', []],
  ['e', 'Notes', 'nothing here', ['milk', 'e-mail']],
  ['f', '日本語のテキスト', 'ｆｕｌｌｗｉｄｔｈ text', []],
] as const;

const STRINGS = ['', 'a', 'ab', 'abc', 'B', 'b', 'Zed', 'é', 'e\u0301', '日本', '😀', 'a😀', 'a😀b', '\uffff', '\ue000', 'x y', '0', '10', '9', 'null', 'true', '2020-01-01T00:00:00.000Z'];
const NUMBERS = [0, 1, -1, 2, 3, 5, 7, 10, 1.5, -2.25, 1e21, -1e-7, 42, 100, Number.MAX_SAFE_INTEGER];
const BIGINTS = [0n, 1n, -1n, 5n, 10n, 2n ** 70n, -(2n ** 65n), 123456789012345678901234567890n, 9223372036854775807n, 9223372036854775808n];
const DATES = [new Date(0), new Date('2020-01-01T00:00:00Z'), new Date('2021-06-15T12:30:00Z'), new Date('1969-12-31T23:59:59.999Z'), new Date('0099-03-01T00:00:00Z'), new Date(8.64e15), new Date(-8.64e15), new Date('2020-01-01T00:00:00.001Z')];
const SPECIAL = [NaN, Infinity, -Infinity, -0, undefined, null];

const SIZE = 800;

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)]!;
}

/** A value of any type (for the field of mixed types). */
function anyValue(random: () => number, depth = 0): unknown {
  const kind = Math.floor(random() * (depth > 1 ? 7 : 10));
  switch (kind) {
    case 0: return pick(random, NUMBERS);
    case 1: return pick(random, STRINGS);
    case 2: return random() < 0.5;
    case 3: return null;
    case 4: return new Date(pick(random, DATES).getTime());
    case 5: return pick(random, BIGINTS);
    case 6: return pick(random, SPECIAL);
    case 7: return [anyValue(random, depth + 1), anyValue(random, depth + 1)].slice(0, Math.floor(random() * 3));
    case 8: return { x: anyValue(random, depth + 1) };
    default: return random() < 0.5 ? new Set([1]) : new Map([['k', 1]]);
  }
}

/** The fixed data set: every field sometimes missing, sometimes null or of another type. */
function dataSet(): { items: Item[]; owners: Owner[]; holders: Holder[] } {
  const random = seededRandom(19);
  const maybe = (value: () => unknown, missing = 0.15): unknown => (random() < missing ? undefined : random() < 0.05 ? null : value());
  const items: Item[] = [];
  for (let i = 0; i < SIZE; i++) {
    const item = new Item(`item-${String(i).padStart(4, '0')}${i % 7 === 0 ? '-é' : ''}`);
    const fields: Record<string, unknown> = {
      n: maybe(() => (random() < 0.03 ? pick(random, SPECIAL) : pick(random, NUMBERS))),
      s: maybe(() => pick(random, STRINGS)),
      b: maybe(() => random() < 0.5),
      d: maybe(() => (random() < 0.02 ? new Date(NaN) : new Date(pick(random, DATES).getTime())), 0.3),
      big: maybe(() => pick(random, BIGINTS), 0.4),
      tags: maybe(() => Array.from({ length: Math.floor(random() * 4) }, () => (random() < 0.1 ? pick(random, NUMBERS) : pick(random, STRINGS)))),
      nested: maybe(() => (random() < 0.1 ? [{ x: 1 }] : { x: random() < 0.1 ? pick(random, STRINGS) : pick(random, NUMBERS), y: { z: pick(random, STRINGS) } })),
      mixed: maybe(() => anyValue(random)),
      grid: maybe(() => [[pick(random, NUMBERS), pick(random, NUMBERS)], [pick(random, STRINGS)]], 0.5),
    };
    for (const [key, value] of Object.entries(fields)) if (value !== undefined || random() < 0.1) item[key] = value;
    items.push(item);
  }
  const owners = ['ann', 'bob', 'cy', 'dé'].map((name) => Object.assign(new Owner(`owner-${name}`), { name }));
  const holders: Holder[] = [];
  for (let i = 0; i < 40; i++) {
    const holder = new Holder(`holder-${i}`);
    holder.label = pick(random, STRINGS);
    if (random() < 0.8) holder.owner = pick(random, owners);
    holder.items = Array.from({ length: Math.floor(random() * 3) }, () => pick(random, items));
    holders.push(holder);
  }
  return { items, owners, holders };
}

const PATHS = ['n', 's', 'b', 'd', 'big', 'tags', 'tags.0', 'tags.1', 'nested', 'nested.x', 'nested.y.z', 'nested.0.x', 'mixed', 'mixed.x', 'mixed.0', 'grid.0.1', 'grid.1.0', 'id', 'absent'];

/** A query operand: a stored value of that path most of the time (so queries hit), else any. */
function operand(random: () => number, pool: unknown[]): unknown {
  let value = random() < 0.8 && pool.length > 0 ? pick(random, pool) : anyValue(random);
  for (let tries = 0; !isOperand(value) && tries < 20; tries++) value = random() < 0.8 && pool.length > 0 ? pick(random, pool) : anyValue(random);
  return isOperand(value) ? value : 1;
}

function isOperand(value: unknown): boolean {
  if (value === undefined || (typeof value === 'number' && Number.isNaN(value))) return false;
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  if (value instanceof Map || value instanceof Set) return false;
  if (Array.isArray(value)) return value.every(isOperand);
  if (value !== null && typeof value === 'object') return Object.values(value).every(isOperand);
  return true;
}

const isOrdered = (value: unknown) => ['number', 'bigint', 'string', 'boolean'].includes(typeof value) || value instanceof Date;

/** A random filter over the data set's paths. */
function randomWhere(random: () => number, pools: Map<string, unknown[]>, depth = 0): Where {
  const roll = random();
  if (depth < 2 && roll < 0.12) return { $and: [randomWhere(random, pools, depth + 1), randomWhere(random, pools, depth + 1)] };
  if (depth < 2 && roll < 0.24) return { $or: [randomWhere(random, pools, depth + 1), randomWhere(random, pools, depth + 1)] };
  if (depth < 2 && roll < 0.3) return { $not: randomWhere(random, pools, depth + 1) };
  const path = pick(random, PATHS);
  const pool = pools.get(path) ?? [];
  const value = operand(random, pool);
  const op = Math.floor(random() * 12);
  const ordered = isOrdered(value) ? value : pick(random, [3, 'ab', new Date(0), 5n, true]);
  switch (op) {
    case 0: return { [path]: value };
    case 1: return { [path]: { $ne: value } };
    case 2: return { [path]: { $gt: ordered } };
    case 3: return { [path]: { $gte: ordered } };
    case 4: return { [path]: { $lt: ordered } };
    case 5: return { [path]: { $lte: ordered, $gt: operandOfType(random, pool, ordered) } };
    case 6: return { [path]: { $in: [value, operand(random, pool), operand(random, pool)].slice(0, 1 + Math.floor(random() * 3)) } };
    case 7: return { [path]: { $nin: [value, operand(random, pool)] } };
    case 8: return { [path]: { $exists: random() < 0.5 } };
    case 9: return { [path]: { $contains: random() < 0.5 ? pick(random, STRINGS) : value } };
    case 10: return { [path]: { $startsWith: typeof value === 'string' ? value.slice(0, Math.floor(random() * 3)) : pick(random, STRINGS) } };
    default: return { [path]: { $not: { $gte: ordered } } };
  }
}

/** A stored value of the same type as `like`, else `like` itself. */
function operandOfType(random: () => number, pool: unknown[], like: unknown): unknown {
  const same = pool.filter((value) => isOperand(value) && typeof value === typeof like && value instanceof Date === like instanceof Date);
  return same.length > 0 ? pick(random, same) : like;
}

function randomOptions(random: () => number, pools: Map<string, unknown[]>): FindOptions {
  const options: FindOptions = { where: randomWhere(random, pools) };
  const keys = Math.floor(random() * 3);
  if (keys > 0) {
    options.sort = {};
    for (let i = 0; i < keys; i++) options.sort[pick(random, PATHS)] = random() < 0.5 ? 1 : -1;
  }
  if (random() < 0.5) options.limit = Math.floor(random() * 25);
  if (random() < 0.3) options.skip = Math.floor(random() * 10);
  return options;
}

/** The values each path holds in the data set, as the evaluator reads them. */
function poolsOf(items: Item[]): Map<string, unknown[]> {
  const pools = new Map<string, unknown[]>();
  for (const path of PATHS) {
    const values: unknown[] = [];
    for (const item of items) {
      let value: unknown = path === 'id' ? item.id : item;
      for (const segment of path === 'id' ? [] : path.split('.')) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
      values.push(value);
    }
    pools.set(path, values);
  }
  return pools;
}

interface Context {
  backend: StorageBackend;
  store: Store;
}

/** What the evaluator answers over the objects themselves: the oracle. */
function expected(store: Store, objects: readonly Serializable[], options: FindOptions): string[] {
  const refOf = (value: object) => (value instanceof Serializable ? { type: store.registry.register(value.constructor as typeof Serializable).name, id: value.id } : undefined);
  const query = toQuery(options, refOf);
  const candidates = objects.map((obj) => {
    const data: Record<string, unknown> = {};
    for (const key of Object.keys(obj)) if (key !== 'id') data[key] = (obj as unknown as Record<string, unknown>)[key];
    return { id: obj.id, data };
  });
  return evaluateQuery(query, candidates, refOf).map((candidate) => candidate.id);
}

const QUERIES = 400;

/** The class of the index test: every indexed path holds values of every type, or nothing. */
class Indexed extends Serializable {
  static override typeName = 'QIndexed';
  static indexes = ['v', 'w.x', 'k'];
  [field: string]: unknown;
}

/** What an indexed field holds: each type, the edge values of numbers, and nothing (`MISSING`). */
const MISSING = Symbol('missing');
const INDEXED_VALUES: readonly unknown[] = [
  0, -0, 1, -1, 2, 1.5, 1e21, -1e-7, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity,
  '', 'a', 'ab', 'B', 'é', 'e\u0301', '😀', '\uffff', '10', '9', 'true', 'null', '1',
  true, false, null, undefined, MISSING,
  new Date(0), new Date('2020-01-01T00:00:00Z'), new Date(NaN), 0n, 5n, 1n, -(2n ** 70n),
  [1], ['a'], [], [null], { x: 1 }, {}, new Map([['a', 1]]), new Set([1]),
];
const isIndexOperand = (value: unknown) => value !== MISSING && isOperand(value);

/** The index test's objects, from a seeded PRNG: `v`, `w.x` and `k` of every kind. */
function indexedObjects(random: () => number, count: number, prefix: string): Indexed[] {
  return Array.from({ length: count }, (_, i) => {
    const obj = new Indexed(`${prefix}-${String(i).padStart(3, '0')}`);
    setIndexed(random, obj);
    return obj;
  });
}

/** Gives `obj` new values at the indexed paths (`w` sometimes a Map, an array or a string, so `w.x` is not there to index). */
function setIndexed(random: () => number, obj: Indexed): void {
  for (const key of ['v', 'w', 'k']) delete obj[key];
  const value = () => {
    const picked = pick(random, INDEXED_VALUES);
    return picked instanceof Date ? new Date(picked.getTime()) : Array.isArray(picked) ? [...picked] : picked;
  };
  const v = value();
  if (v !== MISSING) obj.v = v;
  const w = random();
  const x = value();
  if (w < 0.6) obj.w = x === MISSING ? {} : { x, y: 1 };
  else if (w < 0.7) obj.w = new Map([['x', 1]]);
  else if (w < 0.8) obj.w = [{ x: 1 }];
  else if (w < 0.9) obj.w = 'x';
  const k = Math.floor(random() * 4);
  obj.k = random() < 0.1 ? String(k) : k;
}

/** Queries that an index may serve (equality, ranges, $in, alone and with other conditions) and some it must not narrow. */
function indexQueries(random: () => number): FindOptions[] {
  const operands = INDEXED_VALUES.filter(isIndexOperand).concat(['b', 3, new Date(1), 2n]);
  const queries: FindOptions[] = [];
  for (const path of ['v', 'w.x']) {
    for (const value of operands) {
      const other = pick(random, operands);
      const same = operands.filter((candidate) => typeof candidate === typeof value && candidate instanceof Date === value instanceof Date);
      queries.push({ where: { [path]: value } }, { where: { [path]: { $ne: value } } }, { where: { [path]: { $in: [value, other, value] } } });
      queries.push({ where: { [path]: { $nin: [value] }, k: 1 } }, { where: { [path]: value, k: { $gte: 1 } }, sort: { k: -1 }, limit: 3 });
      queries.push({ where: { $or: [{ [path]: value }, { k: 2 }] } }, { where: { [path]: { $exists: true }, k: pick(random, [0, 1, 2, 3, '1']) } });
      if (!isOrdered(value)) continue;
      const bound = pick(random, same);
      queries.push({ where: { [path]: { $gt: value } } }, { where: { [path]: { $gte: value } }, sort: { [path]: 1 }, limit: 5, skip: 1 });
      queries.push({ where: { [path]: { $lt: value } }, sort: { [path]: -1 } }, { where: { [path]: { $lte: value }, k: { $in: [1, 3] } } });
      queries.push({ where: { [path]: { $gte: value, $lt: bound } } }, { where: { $and: [{ [path]: { $gt: bound } }, { [path]: { $lte: value } }] }, sort: { v: 1, k: -1 } });
      queries.push({ where: { [path]: { $not: { $gt: value } } } }, { where: { v: { $gte: value }, 'w.x': { $lte: bound } } });
      queries.push({ where: { [path]: { $gte: value, $lte: value } } }, { where: { $and: [{ [path]: { $in: [value, bound] } }, { [path]: { $lte: bound } }] } });
    }
  }
  queries.push({ where: { id: 'ix-001' } }, { where: { id: { $in: ['ix-002', 'ix-404', 'new-003', 7] }, v: { $exists: true } } });
  // Sorted on an indexed path holding every type (missing, arrays and objects in their place), with limits.
  for (const limit of [1, 10, 40, 200]) {
    for (const direction of [1, -1] as const) {
      queries.push({ sort: { v: direction }, limit }, { where: { k: { $gte: 1 } }, sort: { v: direction, k: direction === 1 ? -1 : 1 }, limit, skip: 3 });
      queries.push({ where: { k: { $in: [0, 2, '1'] } }, sort: { 'w.x': direction }, limit }, { where: { v: { $exists: true } }, sort: { 'w.x': direction, v: 1 }, limit });
    }
  }
  // Only arrays and objects match: the walk must reach them in the type order (arrays, then objects).
  const containers = { $or: [{ v: [] }, { v: [1] }, { v: ['a'] }, { v: {} }, { v: { $eq: { x: 1 } } }] };
  for (const limit of [1, 2, 3, 5]) queries.push({ where: containers, sort: { v: 1 }, limit }, { where: containers, sort: { v: -1 }, limit });
  return queries;
}

/** The objects whose stored state a test knows, by id: what the oracle judges. */
type Model = Map<string, Indexed>;

export function querySuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions = {}): void {
  const test = suite<Context>(`conformance: ${name} queries`, {} as Context);
  const data = dataSet();
  const pools = poolsOf(data.items);

  test.before(async (context) => {
    context.backend = await makeBackend();
    context.store = new Store({ backend: context.backend });
    await context.store.saveMany([...data.items, ...data.owners, ...data.holders]);
    await context.store.saveMany(TEXTS.map(([id, title, body, tags]) => Object.assign(new Text(id), { title, body, tags: [...tags] })));
  });
  test.after(async ({ store }) => {
    await store.close();
    await options.teardown?.();
  });

  test(`${QUERIES} generated queries give the reference evaluator's answer, in order (find, then count)`, async ({ backend, store }) => {
    const random = seededRandom(1919);
    const cold = new Store({ backend, cache: false, registry: store.registry });
    let nonEmpty = 0;
    for (let i = 0; i < QUERIES; i++) {
      const query = randomOptions(random, pools);
      const want = expected(store, data.items, query);
      if (want.length > 0) nonEmpty++;
      const label = `query ${i}: ${describeQuery(query)}`;
      const got = (await (i % 2 === 0 ? store : cold).find(Item, query)).map((item) => item.id);
      assert.equal(got, want, label);
      const counted = await store.count(Item, { where: query.where });
      assert.is(counted, expected(store, data.items, { where: query.where }).length, `count of ${label}`);
    }
    // The generator must produce queries that find something, or the comparison proves little.
    assert.ok(nonEmpty > QUERIES / 3, `only ${nonEmpty} of ${QUERIES} queries found anything`);
  });

  test('queries of one shape with other operands each get their own answer (a backend may keep what it compiled per shape)', async ({ store }) => {
    // Strings of other lengths in code points and UTF-16 units ($startsWith compares a prefix of the
    // operand's length), every scalar kind, and ids that exist.
    const texts = ['', 'a', 'ab', 'é', 'e\u0301', '😀', 'a😀', '日本', 'Zed', ...data.items.slice(0, 3).map((item) => item.id)];
    const ordered = [...texts, 0, 1, 5, -2.25, 1e21, true, false];
    const scalars = [...ordered, null];
    const shapes: Array<[readonly unknown[], (v: unknown, w: unknown) => FindOptions]> = [
      [ordered, (v) => ({ where: { n: { $gt: v } }, sort: { n: 1 }, limit: 10 })],
      [scalars, (v, w) => ({ where: { $or: [{ s: v }, { n: { $in: [w, v, 3] } }] } })],
      [texts, (v) => ({ where: { s: { $startsWith: v } }, sort: { s: -1 } })],
      [scalars, (v) => ({ where: { tags: { $contains: v } }, skip: 2, limit: 5 })],
      [scalars, (v, w) => ({ where: { id: { $in: [v, w] } } })],
      [ordered, (v) => ({ where: { 'nested.x': { $not: { $lte: v } } } })],
      [[true, false], (v) => ({ where: { mixed: { $exists: v } }, sort: { mixed: -1 }, limit: 30 })],
    ];
    for (const [operands, shape] of shapes) {
      for (let i = 0; i < operands.length; i++) {
        const query = shape(operands[i], operands[(i * 7 + 3) % operands.length]);
        const label = describeQuery(query);
        assert.equal((await store.find(Item, query)).map((item) => item.id), expected(store, data.items, query), label);
        assert.is(await store.count(Item, { where: query.where }), expected(store, data.items, { where: query.where }).length, `count of ${label}`);
      }
    }
  });

  test('findOne and findEach agree with find', async ({ store }) => {
    const random = seededRandom(77);
    for (let i = 0; i < 40; i++) {
      const query = randomOptions(random, pools);
      const want = expected(store, data.items, query);
      const { limit: _limit, ...rest } = query;
      assert.is((await store.findOne(Item, rest))?.id, expected(store, data.items, { ...rest, limit: 1 })[0], `findOne ${describeQuery(rest)}`);
      const each: string[] = [];
      for await (const item of store.findEach(Item, query)) each.push(item.id);
      assert.equal(each, want, `findEach ${describeQuery(query)}`);
    }
    // More than a page of findEach.
    const all: string[] = [];
    for await (const item of store.findEach(Item, { sort: { s: -1 } })) all.push(item.id);
    assert.equal(all, expected(store, data.items, { sort: { s: -1 } }));
  });

  test('a reference matches the object it refers to, in a field and in an array', async ({ store }) => {
    const owner = data.owners[1]!;
    const ids = (await store.find(Holder, { where: { owner } })).map((holder) => holder.id);
    assert.equal(ids, expected(store, data.holders, { where: { owner } }));
    assert.equal([...ids].sort(), data.holders.filter((holder) => holder.owner === owner).map((holder) => holder.id).sort());
    assert.ok(ids.length > 0);
    const item = data.holders.find((holder) => holder.items.length > 0)!.items[0]!;
    const holding = await store.find(Holder, { where: { items: { $contains: item } }, sort: { label: 1 } });
    assert.equal(holding.map((holder) => holder.id), expected(store, data.holders, { where: { items: { $contains: item } }, sort: { label: 1 } }));
    assert.ok(holding.every((holder) => holder.items.some((held) => held.id === item.id)));
    for (let i = 0; i < 30; i++) {
      const random = seededRandom(i);
      const query: FindOptions = { where: { $or: [{ owner: pick(random, data.owners) }, { label: { $gte: pick(random, STRINGS) } }] }, sort: { owner: 1, label: -1 }, limit: 10 };
      assert.equal((await store.find(Holder, query)).map((holder) => holder.id), expected(store, data.holders, query), describeQuery(query));
    }
  });

  test('results come through the cache: a cached, unchanged object is that instance', async ({ store }) => {
    const loaded = await store.load(Item, data.items[3]!.id);
    const [found] = await store.find(Item, { where: { id: loaded.id } });
    assert.is(found, loaded);
  });

  test('a cached object stored since at another version is read as stored, and a query the cache drops an object from meanwhile still answers', async ({ backend, store }) => {
    // A store on a view of the suite's backend whose find (where it has one), once armed, empties the
    // store's cache after the backend answers: what it answered held is no longer held when the store adopts it.
    let drop = false;
    const dropping = new Proxy(backend, {
      get(target, key) {
        // Methods run on the backend itself, whose private fields a proxy does not have.
        const value: unknown = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        if (key !== 'find') return value.bind(target);
        return async (...args: Parameters<NonNullable<StorageBackend['find']>>) => {
          const answer = await target.find!(...args);
          if (drop) kept.cache.clear();
          return answer;
        };
      },
    });
    const kept = new Store({ backend: dropping });
    await kept.saveMany([1, 2, 3, 4].map((n) => Object.assign(new Kept(`kept-${n}`), { n })));
    await kept.index(Kept, 'n');
    const cached = await kept.load(Kept, 'kept-3');
    // Rewritten under the cache (as an import or another process may), at a later version.
    await backend.putMany([{ type: 'QKept', id: 'kept-2', kind: 'object', content: '{"json":{"n":20}}', version: 2, updatedAt: 2 }]);
    const found = async (options: FindOptions) => (await kept.find(Kept, options)).map((obj) => `${obj.id}=${obj.n}`);
    assert.is((await kept.find(Kept, { where: { n: 3 } }))[0], cached, 'a cached, unchanged object found is that instance');
    const cases: Array<[FindOptions, string[]]> = [
      [{ where: { n: { $gte: 2 } } }, ['kept-2=20', 'kept-3=3', 'kept-4=4']],
      [{ where: { n: { $gte: 2 } }, skip: 1, limit: 2 }, ['kept-3=3', 'kept-4=4']],
      [{ sort: { id: -1 }, limit: 3 }, ['kept-4=4', 'kept-3=3', 'kept-2=20']],
    ];
    for (const [options, want] of cases) {
      assert.equal(await found(options), want, `${describeQuery(options)}, the cache holding some`);
      drop = true;
      assert.equal(await found(options), want, `${describeQuery(options)}, the cache emptied meanwhile`);
      drop = false;
    }
  });

  test('records of an older type version are judged after their upgrade, indexed or not', async ({ backend }) => {
    // Two stores on the suite's backend, one per version of the class (closing one would close the backend).
    const old = new Store({ backend });
    await old.saveMany([1, 2, 3].map((points) => Object.assign(new ScoreV1(`old-${points}`), { points })));
    const current = new Store({ backend });
    await current.saveMany([5, 20].map((score) => Object.assign(new ScoreV2(`new-${score}`), { score })));
    const ids = async (options: FindOptions) => (await current.find(ScoreV2, options)).map((score) => `${score.id}=${score.score}`);
    for (const indexed of [false, true]) {
      if (indexed) await current.index(ScoreV2, 'score');
      assert.equal(await ids({ where: { score: { $gte: 20 } }, sort: { score: -1 } }), ['old-3=30', 'new-20=20', 'old-2=20'], `indexed: ${indexed}`);
      assert.equal(await ids({ sort: { score: 1 }, limit: 2 }), ['new-5=5', 'old-1=10'], `indexed: ${indexed}`);
      assert.is(await current.count(ScoreV2, { where: { score: 10 } }), 1, `indexed: ${indexed}`);
      assert.is(await current.count(ScoreV2, { where: { points: { $exists: true } } }), 0, 'the stored field the upgrade renamed is not there');
    }
  });

  test('content spelled otherwise than a save writes it (spaces, \\u escapes in a key), as a dump or an edited file may hold, is judged as the store reads it', async ({ backend, store }) => {
    // "5" and "7" here are BigInts (superjson's annotation says so), but for the one whose key "meta" is escaped.
    const contents: Record<string, string> = {
      text: '{"json":{"n":"5"}}',
      bigint: '{"json":{"n":"5"},"meta":{"values":{"n":["bigint"]}}}',
      escaped: '{"json":{"n":"5"},"\\u006deta":{"values":{"n":["bigint"]}}}',
      spaced: '{\n  "json": { "n": "7" },\n  "meta": { "values": { "n": [ "bigint" ] } }\n}',
    };
    const put = (ids: readonly string[]) => backend.putMany(ids.map((id) => ({ type: 'QRaw', id, kind: 'object', content: contents[id]!, version: 1, updatedAt: 1 })));
    const ids = async (options: FindOptions) => (await store.find(Raw, options)).map((raw) => raw.id);
    const check = async (stored: number, label: string) => {
      assert.equal(await ids({ where: { n: '5' } }), ['text'], label);
      assert.equal(await ids({ where: { n: { $in: ['5', '7'] } }, sort: { n: 1 }, limit: 5 }), ['text'], `with a limit, ${label}`);
      assert.is(await store.count(Raw, { where: { n: '5' } }), 1, `count, ${label}`);
      assert.is(await store.count(Raw, { where: { n: { $exists: true } } }), stored, `count, ${label}`);
    };
    // The escaped one first, alone: once another row is annotated at the path, SQL backends leave out
    // every annotated row by reading its JSON, which would hide a test that missed the escaped key.
    await put(['text', 'escaped']);
    assert.is((await store.load(Raw, 'escaped')).n, 5n, 'the store reads the escaped key as "meta"');
    await check(2, 'the escaped key alone');
    await put(['bigint', 'spaced']);
    await check(4, 'with the others');
    await store.index(Raw, 'n');
    await check(4, 'indexed');
  });

  test('search: every term in the searchable fields, ranked, with prefixes, phrases and folded case and accents', async ({ store }) => {
    const ids = async (text: string, options?: { fields?: string[]; limit?: number }) => (await store.search(Text, text, options)).map((text) => text.id);
    const milk = await ids('milk');
    assert.equal([...milk].sort(), ['a', 'b', 'c']);
    // The same one occurrence in a shorter document ranks higher; two occurrences beat one in a longer one.
    assert.ok(milk.indexOf('b') < milk.indexOf('a'), milk.join());
    assert.ok(milk.indexOf('c') < milk.indexOf('a'), milk.join());
    assert.equal(await ids('milk', { limit: 2 }), milk.slice(0, 2));
    assert.equal(await ids('cafe'), ['c']);
    assert.equal(await ids('CAFÉ LAIT'), ['c']);
    assert.equal(await ids('buy'), ['a']);
    assert.equal((await ids('buy*')).sort(), ['a', 'd']);
    assert.equal(await ids('"milk chocolate"'), ['b']);
    assert.equal(await ids('"chocolate milk"'), []);
    assert.equal(await ids('milk eggs'), ['a']);
    assert.equal(await ids('milk', { fields: ['tags'] }), ['e']);
    assert.equal(await ids('e-mail', { fields: ['tags'] }), ['e']);
    // A phrase runs within one field, and within one string of an array, never across.
    assert.equal(await ids('"milk and"'), []);
    assert.equal(await ids('"milk e"', { fields: ['tags'] }), []);
    assert.equal(await ids('"milk e"', { fields: ['tags', 'title'] }), []);
    assert.equal(await ids('full*'), ['f']);
    assert.equal(await ids('nowhere'), []);
    const [found] = await store.search(Text, 'chocolate');
    assert.is(found, await store.load(Text, 'b'));
    await rejects(() => store.search(Text, '  ,. '), InvalidQueryError, /no word/);
    await rejects(() => store.search(Item, 'milk'), InvalidQueryError, /searchable/);
    await rejects(() => store.search(Text, 'milk', { limit: -1 }), InvalidQueryError, /limit/);
  });

  test('a bad query is InvalidQueryError naming the operator or path', async ({ store }) => {
    await rejects(() => store.find(Item, { where: { n: { $near: 1 } } }), InvalidQueryError, /\$near/);
    await rejects(() => store.find(Item, { where: { n: { $gt: [1] } } }), InvalidQueryError, /"n": \$gt/);
    await rejects(() => store.find(Item, { where: { 'a..b': 1 } }), InvalidQueryError, /a\.\.b/);
    await rejects(() => store.find(Item, { where: { n: { $in: 3 } } }), InvalidQueryError, /\$in/);
    await rejects(() => store.find(Item, { where: { n: Number.NaN } }), InvalidQueryError, /NaN/);
    await rejects(() => store.find(Item, { sort: { n: 2 as never } }), InvalidQueryError, /sort "n"/);
    await rejects(() => store.find(Item, { limit: -1 }), InvalidQueryError, /limit/);
    await rejects(() => store.count(Item, { where: { $nor: [] } }), InvalidQueryError, /\$nor/);
  });

  test('indexed paths holding every type give the evaluator\'s answers, before and after saves, deletes, batches, transactions, imports and clear', async ({ backend, store }) => {
    const random = seededRandom(4242);
    const queries = indexQueries(random);
    const model: Model = new Map();
    const remember = (objects: readonly Indexed[]) => objects.forEach((obj) => model.set(obj.id, obj));
    const cold = new Store({ backend, cache: false, registry: store.registry });
    let phase = 0;
    const check = async (label: string) => {
      phase++;
      let found = 0;
      for (let i = phase % 2; i < queries.length; i += 2) {
        const query = queries[i]!;
        const want = expected(store, [...model.values()], query);
        found += want.length;
        const what = `${label}, query ${i}: ${describeQuery(query)}`;
        assert.equal((await (i % 4 < 2 ? store : cold).find(Indexed, query)).map((obj) => obj.id), want, what);
        assert.is(await store.count(Indexed, { where: query.where }), expected(store, [...model.values()], { where: query.where }).length, `count of ${what}`);
      }
      assert.ok(found > 0, `${label}: no query found anything`);
    };

    const first = indexedObjects(random, 90, 'ix');
    await store.saveMany(first);
    remember(first);
    await check('saved before the first query (the index is built over them)');

    for (const obj of first.filter((_, i) => i % 3 === 0)) {
      setIndexed(random, obj);
      await store.save(obj);
    }
    for (const obj of first.filter((_, i) => i % 7 === 1)) {
      await store.delete(obj);
      model.delete(obj.id);
    }
    const added = indexedObjects(random, 30, 'new');
    await store.saveMany(added);
    remember(added);
    await check('after saves changing the indexed values\' types, deletes and a batch');

    if (backend.capabilities.transactions) {
      const changed = [...model.values()].filter((_, i) => i % 5 === 2);
      const gone = [...model.keys()][0]!;
      const where = { v: { $gte: 0 } };
      await store.transaction(async (tx) => {
        const inside = new Map(model);
        for (const obj of changed) {
          const mine = await tx.load(Indexed, obj.id);
          setIndexed(random, mine);
          await tx.save(mine);
          inside.set(mine.id, mine);
        }
        await tx.delete(Indexed, gone);
        inside.delete(gone);
        const created = indexedObjects(random, 5, 'tx');
        await tx.saveMany(created);
        for (const obj of created) inside.set(obj.id, obj);
        const staged = (await tx.find(Indexed, { where, sort: { v: 1 } })).map((obj) => obj.id);
        assert.equal(staged, expected(store, [...inside.values()], { where, sort: { v: 1 } }), 'a query in the transaction sees its writes');
        assert.is(await tx.count(Indexed, { where }), expected(store, [...inside.values()], { where }).length, 'a count in the transaction sees its writes');
      });
      model.delete(gone);
      for (const obj of await store.find(Indexed, { where: { id: { $startsWith: 'tx' } } })) model.set(obj.id, obj);
      for (const obj of changed) model.set(obj.id, await store.load(Indexed, obj.id));
      await rejects(
        () =>
          store.transaction(async (tx) => {
            for (const obj of [...model.values()].slice(0, 10)) {
              const mine = await tx.load(Indexed, obj.id);
              mine.v = 'rolled back';
              await tx.save(mine);
            }
            throw new RangeError('roll back');
          }),
        RangeError,
        /roll back/,
      );
      await check('after a committed transaction and a rolled-back one');
    }

    const elsewhere = new Store({ registry: store.registry });
    const imported = [...indexedObjects(random, 10, 'ix'), ...indexedObjects(random, 5, 'imp')];
    await elsewhere.saveMany(imported);
    await store.importData(await elsewhere.exportData());
    await elsewhere.close();
    remember(imported);
    await check('after an import replacing some objects');

    await store.clear();
    model.clear();
    assert.equal(await store.find(Indexed, { where: { v: 1 } }), []);
    const again = indexedObjects(random, 60, 'again');
    await store.saveMany(again);
    remember(again);
    await check('after clear, with objects saved since');
  });

  test('what find returns shares nothing with what is stored: changing it, or a saved object, changes no answer', async ({ backend, store }) => {
    const cold = new Store({ backend, cache: false, registry: store.registry });
    const obj = Object.assign(new Indexed('shared-1'), { v: 7, w: { x: [1, 2] }, k: 1 });
    await store.save(obj);
    obj.v = 8;
    (obj.w as { x: number[] }).x.push(3);
    assert.equal((await cold.find(Indexed, { where: { v: 8 } })).map((found) => found.id), []);
    const [found] = await cold.find(Indexed, { where: { v: 7 } });
    assert.ok(found !== undefined && found !== obj);
    assert.equal(found!.w, { x: [1, 2] });
    found!.v = 9;
    (found!.w as { x: number[] }).x.push(4);
    const [again] = await cold.find(Indexed, { where: { v: 7, 'w.x': { $eq: [1, 2] } } });
    assert.ok(again !== undefined && again !== found);
    assert.equal([again!.v, again!.w], [7, { x: [1, 2] }]);
    assert.equal(await cold.find(Indexed, { where: { v: 9 } }), []);
  });

  test.run();
}

function describeQuery(query: FindOptions): string {
  return JSON.stringify(query, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value instanceof Set || value instanceof Map ? `[${value.constructor.name}]` : value));
}
