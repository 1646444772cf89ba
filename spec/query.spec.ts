// The query core alone: the documented type order, equality and comparison rules of the
// reference evaluator, and the checks that turn a bad query into InvalidQueryError.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareValues, evaluateQuery, InvalidQueryError, QueryRef, toQuery, tokenize, type FindOptions } from '../src/index.js';
import { Ref } from '../src/references.js';

const refOf = (value: object) => (value instanceof Ref ? value : undefined);
const test = suite('query core');

test('values sort in the documented type order: missing < null < boolean < number < BigInt < string < Date < reference < array < object < other', () => {
  const ordered = [undefined, null, false, true, Number.NaN, -Infinity, -1, 0, 2.5, Infinity, -(2n ** 70n), 0n, 3n, '', 'Z', 'a', '\ue000', '😀', new Date(NaN), new Date(-1), new Date(0), new Ref('A', 'b'), new Ref('B', 'a'), [2], { a: 1 }, new Map()];
  for (let i = 0; i < ordered.length; i++) {
    for (let j = 0; j < ordered.length; j++) {
      const order = Math.sign(compareValues(ordered[i], ordered[j], refOf));
      // Arrays, objects and others are equal within their rank; everything else is strictly ordered here.
      assert.is(order, Math.sign(i - j), `${String(ordered[i])} vs ${String(ordered[j])}`);
    }
  }
});

const docs = [
  { id: 'a', data: { n: 1, s: 'x', d: new Date(5), big: 10n, tags: ['p', 'q'], o: { x: 1, y: [1, 2] }, owner: new Ref('User', 'u1') } },
  { id: 'b', data: { n: 1n, s: 'xy', d: '1970-01-01T00:00:00.005Z', tags: 'p', o: { y: [1, 2], x: 1 }, owner: new Ref('User', 'u2') } },
  { id: 'c', data: { n: '1', s: null, big: 9007199254740993n, tags: [['p']], o: { x: 1, y: [1, 2], z: undefined } } },
  { id: 'd', data: { n: -0, u: undefined } },
];
const ids = (options: FindOptions) => evaluateQuery(toQuery(options, refOf), docs, refOf).map((doc) => doc.id);

test('equality is the same type and value: 1 is not 1n nor "1", a Date is not its ISO string, -0 is 0, objects deep and key order aside', () => {
  assert.equal(ids({ where: { n: 1 } }), ['a']);
  assert.equal(ids({ where: { n: 1n } }), ['b']);
  assert.equal(ids({ where: { n: 0 } }), ['d']);
  assert.equal(ids({ where: { d: new Date(5) } }), ['a']);
  assert.equal(ids({ where: { o: { x: 1, y: [1, 2] } } }), ['a', 'b', 'c']);
  assert.equal(ids({ where: { big: 9007199254740993n } }), ['c']);
  assert.equal(ids({ where: { owner: new QueryRef('User', 'u2') } }), ['b']);
  assert.equal(ids({ where: { s: null } }), ['c']);
  assert.equal(ids({ where: { u: { $exists: true } } }), []);
});

test('comparisons see only the operand\'s type; $contains is membership or substring; $ne and $nin match missing fields', () => {
  assert.equal(ids({ where: { n: { $gte: 0 } } }), ['a', 'd']);
  assert.equal(ids({ where: { big: { $gt: 2n ** 53n } } }), ['c']);
  assert.equal(ids({ where: { s: { $gte: 'x' } } }), ['a', 'b']);
  assert.equal(ids({ where: { tags: { $contains: 'p' } } }), ['a', 'b']);
  assert.equal(ids({ where: { tags: { $contains: ['p'] } } }), ['c']);
  assert.equal(ids({ where: { s: { $ne: 'x' } } }), ['b', 'c', 'd']);
  assert.equal(ids({ where: { s: { $nin: ['x', 'xy'] } } }), ['c', 'd']);
  assert.equal(ids({ where: { 'tags.1': 'q' } }), ['a']);
  assert.equal(ids({ where: { 'o.y.0': 1, id: { $startsWith: 'b' } } }), ['b']);
  assert.equal(ids({ where: { $or: [{ n: 1 }, { n: '1' }], $not: { id: 'c' } } }), ['a']);
});

test('sort by several keys, descending, ties by id; skip and limit', () => {
  assert.equal(ids({ sort: { n: -1 } }), ['c', 'b', 'a', 'd']);
  assert.equal(ids({ sort: { o: 1, s: -1 } }), ['d', 'b', 'a', 'c']);
  assert.equal(ids({ sort: { missing: 1 }, skip: 1, limit: 2 }), ['b', 'c']);
});

test('bad queries are InvalidQueryError naming the path and operator', () => {
  const cases: Array<[FindOptions, RegExp, string | undefined, string | undefined]> = [
    [{ where: { n: { $foo: 1 } } }, /unknown operator \$foo/, 'n', '$foo'],
    [{ where: { n: { $gt: null } } }, /\$gt compares with/, 'n', '$gt'],
    [{ where: { n: { $in: 'x' } } }, /\$in takes an array/, 'n', '$in'],
    [{ where: { n: { $exists: 1 } } }, /\$exists takes true or false/, 'n', '$exists'],
    [{ where: { n: { $startsWith: 1 } } }, /\$startsWith takes a string/, 'n', '$startsWith'],
    [{ where: { n: undefined } }, /undefined/, 'n', '$eq'],
    [{ where: { n: new Date(NaN) } }, /invalid Date/, 'n', '$eq'],
    [{ where: { n: new Set() } }, /cannot compare/, 'n', '$eq'],
    [{ where: { n: { $gt: 1, x: 2 } } }, /mixing operators/, 'n', '$gt'],
    [{ where: { 'a.$b': 1 } }, /operator, not a field name/, 'a.$b', '$b'],
    [{ where: { 'id.x': 1 } }, /id is a string/, 'id.x', undefined],
    [{ where: { $where: 'x' } }, /unknown operator \$where/, undefined, '$where'],
    [{ where: { $or: {} as never } }, /\$or takes an array/, undefined, '$or'],
    [{ sort: { n: 0 as never } }, /direction/, 'n', undefined],
    [{ skip: 1.5 }, /skip must be an integer/, undefined, undefined],
    [{ limit: 1, other: 1 } as never, /unknown option "other"/, undefined, undefined],
  ];
  for (const [options, message, path, operator] of cases) {
    try {
      toQuery(options, refOf);
      assert.unreachable(`no error for ${message}`);
    } catch (error) {
      assert.instance(error, InvalidQueryError, String(message));
      assert.is((error as InvalidQueryError).code, 'ERR_INVALID_QUERY');
      assert.match((error as Error).message, message);
      assert.is((error as InvalidQueryError).path, path, `path of ${message}`);
      assert.is((error as InvalidQueryError).operator, operator, `operator of ${message}`);
    }
  }
});

test('tokenize folds case, accents and width, and splits on what is not a letter or digit', () => {
  assert.equal(tokenize('Café, CAFÉ & ｆｕｌｌ-width 42x'), ['cafe', 'cafe', 'full', 'width', '42x']);
  assert.equal(tokenize('日本語 テキスト'), ['日本語', 'テキスト']);
});

test.run();
