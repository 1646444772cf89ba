// Queries inside a transaction: part of the conformance suite (backendSuite calls
// transactionQuerySuite), on a backend with capabilities.transactions. `tx.find`, `findOne`,
// `count` and `findEach` see the transaction's own saves and deletes, merged in the query's order
// with what was committed before (skip and limit over the merged answer), return the instances
// `tx.load` gives, leave nothing behind after a rollback, and reject a bad query before the
// backend's transaction is asked anything.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Container,
  InvalidQueryError,
  Serializable,
  Store,
  TransactionError,
  type BackendTransaction,
  type BackendTransactionOptions,
  type FindOptions,
  type StorageBackend,
  type Transaction,
} from '../core.js';
import { rejects } from './assert.js';
import type { BackendSuiteOptions } from './options.js';

class Task extends Serializable {
  static override typeName = 'TxqTask';
  n = 0;
  tag = '';
}
class Board extends Container {
  static override typeName = 'TxqBoard';
  label = '';
  tasks: Task[] = [];
}

const task = (id: string, n: number, tag = 'x') => Object.assign(new Task(id), { n, tag });

interface Context {
  backend: StorageBackend;
  store: Store;
}

/** Committed before each test: c0 .. c9 with n = 0, 10, ..., 90; tag 'even' or 'odd' by i. */
async function seed(store: Store): Promise<void> {
  await store.saveMany(Array.from({ length: 10 }, (_, i) => task(`c${i}`, i * 10, i % 2 === 0 ? 'even' : 'odd')));
}

/** The ids of `tasks`. */
const idsOf = (tasks: readonly Task[]) => tasks.map((t) => t.id);

/** What a query over `model` gives (ids), computed here in plain code: `n` sorted, ties by id. */
function expected(model: ReadonlyMap<string, number>, direction: 1 | -1 | undefined, skip: number, limit: number | undefined): string[] {
  const rows = [...model].sort(([a, x], [b, y]) => (direction === undefined ? 0 : (x - y) * direction) || (a < b ? -1 : a > b ? 1 : 0));
  return rows.slice(skip, limit === undefined ? undefined : skip + limit).map(([id]) => id);
}

/** Counts the calls `backend`'s transactions get (every method of the tx it hands out). */
function spyOnTransactions(backend: StorageBackend): { calls: number } {
  const spy = { calls: 0 };
  const original = backend.transaction!.bind(backend);
  backend.transaction = (<T>(work: (tx: BackendTransaction) => Promise<T>, options: BackendTransactionOptions) =>
    original((tx) => {
      const counted = Object.fromEntries(
        Object.entries(tx).map(([key, method]) => [key, typeof method === 'function' ? (...args: unknown[]) => (spy.calls++, method.apply(tx, args)) : method]),
      ) as unknown as BackendTransaction;
      return work(counted);
    }, options)) as typeof backend.transaction;
  return spy;
}

export function transactionQuerySuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions = {}): void {
  if (!options.transactions) return;
  const test = suite<Context>(`conformance: ${name} queries in a transaction`, {} as Context);
  test.before.each(async (context) => {
    context.backend = await makeBackend();
    context.store = new Store({ backend: context.backend });
    await seed(context.store);
  });
  test.after.each(async ({ backend }) => {
    await backend.close();
    await options.teardown?.();
  });

  test('an uncommitted save of the transaction is found, with its new values, not the stored ones', async ({ store }) => {
    await store.transaction(async (tx) => {
      const fresh = await tx.save(task('new', 100, 'fresh'));
      const changed = await tx.load(Task, 'c1');
      changed.n = 101;
      await tx.save(changed);
      const found = await tx.find(Task, { where: { n: { $gte: 100 } } });
      assert.equal(idsOf(found), ['c1', 'new']);
      assert.is(found[0], changed, 'the saved instance itself');
      assert.is(found[1], fresh);
      assert.equal(idsOf(await tx.find(Task, { where: { n: 10 } })), [], 'the old value of c1 matches no more');
      assert.is(await tx.findOne(Task, { where: { tag: 'fresh' } }), fresh);
    });
    assert.equal(idsOf(await store.find(Task, { where: { n: { $gte: 100 } } })), ['c1', 'new'], 'committed');
  });

  test("the transaction's deletes are not found", async ({ store }) => {
    await store.transaction(async (tx) => {
      assert.is(await tx.delete(Task, 'c3'), true);
      const loaded = await tx.load(Task, 'c4');
      await tx.delete(loaded);
      const found = await tx.find(Task);
      assert.equal(idsOf(found), ['c0', 'c1', 'c2', 'c5', 'c6', 'c7', 'c8', 'c9']);
      assert.is(await tx.findOne(Task, { where: { id: 'c3' } }), undefined);
      assert.is(await tx.count(Task, { where: { n: { $in: [30, 40, 50] } } }), 1);
      // Saved again after the delete: found again.
      await tx.save(task('c3', 33));
      assert.equal(idsOf(await tx.find(Task, { where: { n: { $in: [30, 33, 40] } } })), ['c3']);
    });
    assert.equal(await store.list(Task), ['c0', 'c1', 'c2', 'c3', 'c5', 'c6', 'c7', 'c8', 'c9']);
  });

  test('sort, skip and limit apply to the merged answer: committed objects and the transaction\'s writes in one order', async ({ store }) => {
    await store.transaction(async (tx) => {
      // What the transaction sees, kept here by hand: id -> n.
      const model = new Map(Array.from({ length: 10 }, (_, i) => [`c${i}`, i * 10]));
      for (const [id, n] of [['a-new', 5], ['z-new', 15], ['m-new', 95], ['b-new', -5], ['tie', 50]] as const) {
        await tx.save(task(id, n));
        model.set(id, n);
      }
      const moved = await tx.load(Task, 'c2');
      moved.n = 85;
      await tx.save(moved);
      model.set('c2', 85);
      await tx.delete(Task, 'c4');
      model.delete('c4');
      for (const direction of [undefined, 1, -1] as const) {
        for (let skip = 0; skip <= model.size + 1; skip++) {
          for (const limit of [undefined, 0, 1, 3, 7]) {
            const query: FindOptions = { skip, ...(limit !== undefined && { limit }), ...(direction !== undefined && { sort: { n: direction } }) };
            const want = expected(model, direction, skip, limit);
            assert.equal(idsOf(await tx.find(Task, query)), want, `find ${JSON.stringify(query)}`);
            if (limit === undefined) assert.is((await tx.findOne(Task, query))?.id, want[0], `findOne ${JSON.stringify(query)}`);
          }
        }
      }
      const page: string[] = [];
      for await (const each of tx.findEach(Task, { sort: { n: -1 }, skip: 2, limit: 6 })) page.push(each.id);
      assert.equal(page, expected(model, -1, 2, 6), 'findEach');
    });
  });

  test("count includes the transaction's own saves and leaves out its deletes", async ({ store }) => {
    await store.transaction(async (tx) => {
      assert.is(await tx.count(Task), 10);
      assert.is(await tx.count(Task, { where: { tag: 'even' } }), 5);
      await tx.save(task('e1', 1, 'even'));
      await tx.save(task('e2', 2, 'even'));
      await tx.delete(Task, 'c0');
      const c1 = await tx.load(Task, 'c1');
      c1.tag = 'even';
      await tx.save(c1);
      assert.is(await tx.count(Task), 11);
      assert.is(await tx.count(Task, { where: { tag: 'even' } }), 7);
      assert.is(await tx.count(Task, { where: { tag: 'odd' } }), 4);
      assert.is(await tx.count(Task, {}), 11);
    });
    assert.is(await store.count(Task, { where: { tag: 'even' } }), 7, 'committed');
  });

  test('findEach streams the transaction\'s view, page after page, with the instances find gives', async ({ store }) => {
    // More than one page of findEach (500).
    await store.saveMany(Array.from({ length: 520 }, (_, i) => task(`p${String(i).padStart(3, '0')}`, 1000 + i, 'page')));
    await store.transaction(async (tx) => {
      await tx.save(task('p-own', 1250, 'page'));
      await tx.delete(Task, 'p100');
      const moved = await tx.load(Task, 'p510');
      moved.n = 999;
      await tx.save(moved);
      const found = await tx.find(Task, { where: { tag: 'page' }, sort: { n: 1 } });
      assert.is(found.length, 520);
      const streamed: Task[] = [];
      for await (const each of tx.findEach(Task, { where: { tag: 'page' }, sort: { n: 1 } })) streamed.push(each);
      assert.equal(idsOf(streamed), idsOf(found));
      assert.ok(streamed.every((each, i) => each === found[i]), 'the same instances');
      assert.is(streamed[0], moved);
      assert.ok(!streamed.some((each) => each.id === 'p100'));
      const unsorted: string[] = [];
      for await (const each of tx.findEach(Task, { where: { tag: 'page' } })) unsorted.push(each.id);
      assert.equal(unsorted, idsOf(found).sort(), 'in id order without sort');
    });
  });

  test('findEach iterated after the transaction ended throws TransactionError', async ({ store }) => {
    const iterator = await store.transaction(async (tx) => tx.findEach(Task));
    await rejects(iterator.next(), TransactionError, /ended/);
  });

  test('a rollback leaves no trace of what the queries saw', async ({ store }) => {
    const before = await store.find(Task, { sort: { n: -1 } });
    let seen: Task[] = [];
    await rejects(
      store.transaction(async (tx) => {
        await tx.save(task('ghost', 1000));
        await tx.delete(Task, 'c9');
        seen = await tx.find(Task, { sort: { n: -1 } });
        assert.equal(idsOf(seen).slice(0, 2), ['ghost', 'c8']);
        throw new Error('roll back');
      }),
      Error,
      /roll back/,
    );
    const after = await store.find(Task, { sort: { n: -1 } });
    assert.equal(idsOf(after), idsOf(before));
    assert.ok(after.every((each, i) => each === before[i]), 'the store keeps its own instances');
    assert.ok(!after.some((each) => seen.includes(each)), "none of the transaction's instances reached the store");
    assert.is(await store.count(Task), 10);
    assert.is(await store.exists(Task, 'ghost'), false);
    await store.transaction(async (tx) => {
      assert.equal(idsOf(await tx.find(Task, { where: { n: { $gte: 90 } } })), ['c9'], 'a later transaction sees what is stored');
    });
  });

  test('a bad query rejects with InvalidQueryError before the backend is asked anything, and the transaction goes on', async ({ store, backend }) => {
    const spy = spyOnTransactions(backend);
    await store.transaction(async (tx) => {
      await tx.load(Task, 'c0');
      const calls = spy.calls;
      assert.ok(calls > 0, 'the spy counts');
      await rejects(() => tx.find(Task, { where: { n: { $near: 1 } } }), InvalidQueryError, /\$near/);
      await rejects(() => tx.find(Task, { sort: { n: 2 as never } }), InvalidQueryError, /sort "n"/);
      await rejects(() => tx.find(Task, { limit: -1 }), InvalidQueryError, /limit/);
      await rejects(() => tx.findOne(Task, { where: { 'a..b': 1 } }), InvalidQueryError, /a\.\.b/);
      await rejects(() => tx.count(Task, { where: { $nor: [] } }), InvalidQueryError, /\$nor/);
      await rejects(async () => tx.findEach(Task, { where: { n: { $in: 3 } } }), InvalidQueryError, /\$in/);
      assert.is(spy.calls, calls, 'no call reached the backend');
      // On PostgreSQL a statement that failed would have aborted the transaction.
      await tx.save(task('after', 1));
      assert.equal(idsOf(await tx.find(Task, { where: { n: 1 } })), ['after']);
    });
    assert.is(await store.exists(Task, 'after'), true);
  });

  test('results are the instances tx.load gives, in both orders, and count as loaded at the commit', async ({ store }) => {
    const outside = await store.load(Task, 'c5');
    const result = await store.transaction(async (tx: Transaction) => {
      const loaded = await tx.load(Task, 'c1');
      const [first] = await tx.find(Task, { where: { id: 'c1' } });
      assert.is(first, loaded, 'load, then find');
      const [found] = await tx.find(Task, { where: { n: 50 } });
      assert.is(await tx.load(Task, 'c5'), found, 'find, then load');
      assert.is.not(found, outside, "the transaction's own, not the store's cached instance");
      assert.is(tx.versionOf(found!), 1);
      const all = await tx.find(Task);
      assert.is(all[1], loaded);
      assert.is(all[5], found);
      assert.is(await tx.findOne(Task, { where: { n: 50 } }), found);
      return found!;
    });
    assert.is(store.versionOf(result), 1, 'the store knows its version, as for an object tx.load gave');
  });

  test('a container found in a transaction is the one tx.load gives, its references resolved to the transaction\'s objects', async ({ store }) => {
    const board = Object.assign(new Board('b1'), { label: 'work' });
    board.tasks = [await store.load(Task, 'c0'), await store.load(Task, 'c1')];
    await store.save(board);
    await store.transaction(async (tx) => {
      const c0 = await tx.load(Task, 'c0');
      c0.n = -1;
      await tx.save(c0);
      const [found] = await tx.find(Board, { where: { label: 'work' } });
      assert.ok(found);
      assert.is(found.tasks[0], c0, 'a reference resolves to the object the transaction saved');
      assert.is(found.tasks[1], await tx.load(Task, 'c1'));
      assert.is(await tx.load(Board, 'b1'), found);
      const made = await tx.save(Object.assign(new Board('b2'), { label: 'work', tasks: [c0] }));
      assert.equal(idsOf((await tx.find(Board, { where: { label: 'work' } })) as never), ['b1', 'b2']);
      assert.is((await tx.find(Board, { where: { id: 'b2' } }))[0], made);
    });
  });

  test('queries in a transaction see only its store\'s namespace', async ({ store, backend }) => {
    const other = new Store({ backend, namespace: 'txq-other', registry: store.registry });
    await other.save(task('o1', 7));
    await other.transaction(async (tx) => {
      assert.equal(idsOf(await tx.find(Task)), ['o1']);
      await tx.save(task('o2', 8));
      assert.equal(idsOf(await tx.find(Task, { sort: { n: -1 } })), ['o2', 'o1']);
      assert.is(await tx.count(Task), 2);
    });
    await store.transaction(async (tx) => {
      assert.is(await tx.count(Task), 10, 'the default namespace has its own');
      assert.equal(await tx.find(Task, { where: { n: { $in: [7, 8] } } }), []);
    });
  });

  test.run();
}
