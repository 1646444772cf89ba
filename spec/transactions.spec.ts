// Transactions beyond the conformance section: the Storage facade and instance sugar, the file
// backend's UnsupportedError, and PostgreSQL's retries and isolation levels (TransactionError after
// `retries`, write skew refused at SERIALIZABLE and let through at REPEATABLE READ).
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PostgresBackend } from '../src/backends/postgres.js';
import { SqliteBackend } from '../src/backends/sqlite.js';
import { BackendError, ConflictError, InMemoryBackend, InvalidQueryError, Serializable, Storage, Store, TransactionError, UnsupportedError, type BackendTransaction } from '../src/index.js';
import type { PostgresIsolation } from '../src/postgres.js';
import { rejects, tempDir } from './helpers.js';
import { dropSchema, freshSchema, PG_URL } from './postgres-server.js';

class Slot extends Serializable {
  static override typeName = 'TxSlot';
  value = 0;
}
const slot = (id: string, value: number) => Object.assign(new Slot(id), { value });

const facade = suite('transactions: the Storage facade');

facade('Storage.transaction runs on the default store; delete takes expectedVersion, obj.delete too', async () => {
  Storage.use(new InMemoryBackend());
  await Storage.save(slot('a', 1));
  const value = await Storage.transaction(async (tx) => {
    const a = await tx.load(Slot, 'a');
    a.value = 2;
    await tx.save(a);
    return a.value;
  });
  assert.is(value, 2);
  const a = await Storage.load(Slot, 'a');
  assert.is(a.value, 2);
  assert.is(Storage.versionOf(a), 2);
  await rejects(Storage.delete(a, { expectedVersion: 1 }), ConflictError);
  await rejects(a.delete({ expectedVersion: 1 }), ConflictError);
  assert.is(await a.delete({ expectedVersion: 2 }), true);
  assert.is(await Storage.exists(Slot, 'a'), false);
  await Storage.close();
});

facade('the file backend has no transactions: UnsupportedError, nothing written', async () => {
  const dir = tempDir('cuttle-tx-file-');
  try {
    const store = Storage.configure('file', { path: dir.path });
    assert.is(store.backend.capabilities.transactions, false);
    await rejects(Storage.transaction(async (tx) => tx.save(slot('x', 1))), UnsupportedError, /no transactions/);
    assert.equal(await Storage.listAll(), {});
    await Storage.close();
  } finally {
    dir.remove();
  }
});

facade("queries in a transaction whose backend transaction has neither find nor list: UnsupportedError naming it, the transaction goes on", async () => {
  // A backend written before BackendTransaction had find and list.
  class OlderBackend extends InMemoryBackend {
    override transaction<T>(work: (tx: BackendTransaction) => Promise<T>): Promise<T> {
      return super.transaction(({ load, loadMany, exists, write, delete: remove }) => work({ load, loadMany, exists, write, delete: remove }));
    }
  }
  const store = new Store({ backend: new OlderBackend() });
  await store.save(slot('a', 1));
  await store.transaction(async (tx) => {
    await rejects(tx.find(Slot), UnsupportedError, /^memory: cannot query TxSlot inside a transaction: the backend's transaction has neither find nor list/);
    await rejects(tx.count(Slot), UnsupportedError, /neither find nor list/);
    await rejects(async () => tx.findEach(Slot), UnsupportedError, /neither find nor list/);
    await rejects(tx.find(Slot, { where: { value: { $near: 1 } } }), InvalidQueryError, /\$near/);
    await tx.save(slot('b', 2));
  });
  assert.is(await store.count(Slot, { where: { value: 2 } }), 1);
  await store.close();
});

facade('options are checked where they enter', async () => {
  const store = new Store();
  await rejects(store.transaction(async () => 1, { retires: 2 } as never), Error, /retires/);
  await rejects(store.transaction(async () => 1, { retries: -1 }), Error, /retries/);
  await rejects(store.transaction('nope' as never), TypeError, /callback/);
  await store.close();
});

facade('SQLite: a write lock another process holds past busyTimeout is a BackendError (SQLITE_BUSY), and the callback never ran', async () => {
  const dir = tempDir('cuttle-tx-busy-');
  const file = join(dir.path, 'busy.db');
  const store = new Store({ backend: new SqliteBackend({ path: file, busyTimeout: 50 }) });
  const other = new Database(file);
  try {
    await store.save(slot('a', 1));
    other.exec('BEGIN IMMEDIATE');
    let ran = false;
    const error = await rejects(store.transaction(async () => (ran = true)), BackendError);
    assert.is(error.systemCode, 'SQLITE_BUSY');
    assert.is(ran, false);
    other.exec('ROLLBACK');
    assert.is(await store.transaction(async () => 'free again'), 'free again');
  } finally {
    other.close();
    await store.close();
    dir.remove();
  }
});

facade.run();

const pg = suite<{ schema: string; stores: Store[] }>('transactions: PostgreSQL retries and isolation');
pg.before.each((context) => {
  context.schema = freshSchema('txr');
  context.stores = [];
});
pg.after.each(async ({ schema, stores }) => {
  for (const store of stores) await store.close();
  await dropSchema(schema);
});

/** Two stores on two backends (two pools) on one schema, as two servers would have. */
function twoServers(context: { schema: string; stores: Store[] }, isolation?: PostgresIsolation): [Store, Store] {
  const make = () => new Store({ backend: new PostgresBackend({ connectionString: PG_URL, schema: context.schema, max: 3, ...(isolation && { isolation }) }), cache: false });
  context.stores.push(make(), make());
  return context.stores as [Store, Store];
}

/** A promise each of `n` callers awaits, resolved once all of them arrived. */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived === n) open();
    return opened;
  };
}

pg('two transactions writing one row: with retries 0 the loser throws TransactionError; with retries both commit', async (context) => {
  const [one, two] = twoServers(context);
  await one.save(slot('s', 0));
  /** Both read the row, wait for each other, then both increment it: one must lose. */
  const race = async (retries: number) => {
    const met = barrier(2);
    let runs = 0;
    const increment = (store: Store) =>
      store.transaction(
        async (tx) => {
          runs++;
          const s = await tx.load(Slot, 's');
          if (runs <= 2) await met();
          s.value += 1;
          await tx.save(s);
        },
        { retries },
      );
    const results = await Promise.allSettled([increment(one), increment(two)]);
    return { results, runs };
  };
  const first = await race(0);
  const failed = first.results.filter((r) => r.status === 'rejected');
  assert.is(failed.length, 1, 'exactly one lost');
  const error = (failed[0] as PromiseRejectedResult).reason as TransactionError;
  assert.instance(error, TransactionError);
  assert.is(error.code, 'ERR_TRANSACTION');
  assert.is(error.reason, 'retries');
  assert.is(error.attempts, 1);
  assert.match(error.message, /retries: 0/);
  assert.is((await one.load(Slot, 's')).value, 1, 'the winner committed, the loser left nothing');

  const second = await race(3);
  assert.ok(second.results.every((r) => r.status === 'fulfilled'), 'with retries both get through');
  assert.is(second.runs, 3, 'the loser ran once more');
  assert.is((await one.load(Slot, 's')).value, 3);
});

for (const isolation of ['serializable', 'repeatable read'] as const) {
  pg(`write skew (each reads both rows, writes the other): ${isolation === 'serializable' ? 'refused at SERIALIZABLE' : 'let through at REPEATABLE READ'}`, async (context) => {
    const [one, two] = twoServers(context, isolation);
    await one.saveMany([slot('x', 1), slot('y', 1)]);
    const met = barrier(2);
    /** Takes one from `mine` only if x + y stays at least 1: together they would break that. */
    const withdraw = (store: Store, mine: string) =>
      store.transaction(
        async (tx) => {
          const x = await tx.load(Slot, 'x');
          const y = await tx.load(Slot, 'y');
          await met();
          if (x.value + y.value >= 2) {
            const target = mine === 'x' ? x : y;
            target.value -= 1;
            await tx.save(target);
          }
        },
        { retries: 0 },
      );
    const results = await Promise.allSettled([withdraw(one, 'x'), withdraw(two, 'y')]);
    const x = (await one.load(Slot, 'x')).value;
    const y = (await one.load(Slot, 'y')).value;
    if (isolation === 'serializable') {
      assert.is(results.filter((r) => r.status === 'rejected').length, 1, 'one of the two is refused');
      assert.is(x + y, 1, 'the rule x + y >= 1 holds');
    } else {
      assert.ok(results.every((r) => r.status === 'fulfilled'), 'both commit');
      assert.is(x + y, 0, 'the rule is broken: what REPEATABLE READ allows');
    }
  });
}

pg.run();
