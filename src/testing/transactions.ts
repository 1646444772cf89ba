// Transactions through a Store: part of the conformance suite (backendSuite calls
// transactionSuite). On a backend with capabilities.transactions: commits, reads of own writes,
// rollbacks that leave nothing (stored or cached), conflicts, cascades, misuse, transfers between
// accounts from concurrent transactions that keep the total, and readers that never see half of
// one (on the same backend object, and on a peer where the backend has one). On a backend without
// them: store.transaction throws UnsupportedError.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ConflictError,
  Container,
  NotFoundError,
  Serializable,
  Store,
  TransactionError,
  UnsupportedError,
  type StorageBackend,
  type StoreChange,
  type Transaction,
} from '../core.js';
import { rejects } from './assert.js';
import type { BackendSuiteOptions } from './options.js';
import { seededRandom } from './random.js';

class Account extends Serializable {
  static override typeName = 'TxAccount';
  balance = 0;
}
class Ledger extends Container {
  static override typeName = 'TxLedger';
  accounts: Account[] = [];
}

const account = (id: string, balance: number) => Object.assign(new Account(id), { balance });

interface Context {
  backend: StorageBackend;
  store: Store;
}

/** Accounts `acc-0` .. `acc-<n-1>` with 100 each. */
async function openAccounts(store: Store, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `acc-${i}`);
  await store.saveMany(ids.map((id) => account(id, 100)));
  return ids;
}

/** Moves `amount` from one account to another in one transaction, yielding to the event loop in between. */
async function transfer(store: Store, from: string, to: string, amount: number): Promise<void> {
  await store.transaction(async (tx) => {
    const a = await tx.load(Account, from);
    const b = await tx.load(Account, to);
    a.balance -= amount;
    await tx.save(a);
    // Half-way: whoever runs now must not see the money gone from one account and not in the other.
    await new Promise((resolve) => setTimeout(resolve, 0));
    b.balance += amount;
    await tx.save(b);
  }, RETRIED);
}

/** Enough retries that concurrent transfers on a backend that fails conflicting transactions (PostgreSQL) all get through. */
const RETRIED = { retries: 100 };

/** The sum of `ids`' balances read in one transaction. */
async function totalOf(store: Store, ids: readonly string[]): Promise<number> {
  return store.transaction(async (tx) => {
    let sum = 0;
    for (const id of ids) sum += (await tx.load(Account, id)).balance;
    return sum;
  }, RETRIED);
}

export function transactionSuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions = {}): void {
  const test = suite<Context>(`conformance: ${name} transactions`, {} as Context);
  test.before.each(async (context) => {
    context.backend = await makeBackend();
    context.store = new Store({ backend: context.backend });
  });
  test.after.each(async ({ backend }) => {
    await backend.close();
    await options.teardown?.();
  });

  test('without capabilities.transactions, store.transaction throws UnsupportedError and runs nothing', async ({ backend, store }) => {
    if (backend.capabilities.transactions) {
      assert.type(backend.transaction, 'function', 'a backend that claims transactions has transaction()');
      assert.ok(options.transactions, 'the backend declares transactions: pass { transactions: true } to backendSuite so that they are tested');
      return;
    }
    let ran = false;
    await rejects(store.transaction(async () => (ran = true)), UnsupportedError, /transactions/);
    assert.is(ran, false);
  });

  test.run();
  // The rest needs transactions.
  if (!options.transactions) return;

  const tx = suite<Context>(`conformance: ${name} transactions (capabilities.transactions)`, {} as Context);
  tx.before.each(async (context) => {
    context.backend = await makeBackend();
    context.store = new Store({ backend: context.backend });
  });
  tx.after.each(async ({ backend }) => {
    await backend.close();
    await options.teardown?.();
  });

  tx('the backend declares transactions', ({ backend }) => {
    assert.is(backend.capabilities.transactions, true);
  });

  tx('commits saves and deletes together, returns the callback value, and the store takes in versions, cache and lists', async ({ store, backend }) => {
    const ids = await openAccounts(store, 3);
    assert.equal(await store.list(Account), ids, 'the kept id list is filled');
    const result = await store.transaction(async (tx) => {
      const a = await tx.load(Account, 'acc-0');
      a.balance = 50;
      await tx.save(a);
      await tx.save(account('acc-new', 7));
      const c = await tx.load(Account, 'acc-2');
      assert.is(await tx.delete(c), true);
      assert.is(tx.versionOf(c), undefined);
      return { a, c, answer: 42 };
    });
    assert.is(result.answer, 42);
    assert.is(store.versionOf(result.a), 2);
    assert.is(store.versionOf(result.c), undefined, 'loaded and deleted in the transaction: no version');
    assert.is(await store.load(Account, 'acc-0'), result.a, "the transaction's object is the cached instance now");
    assert.is((await store.load(Account, 'acc-new')).balance, 7);
    assert.is(await store.exists(Account, 'acc-2'), false);
    assert.equal(await store.list(Account), ['acc-0', 'acc-1', 'acc-new']);
    assert.is((await backend.load('TxAccount', 'acc-0'))?.version, 2);
    assert.is(await backend.exists('TxAccount', 'acc-2'), false);
  });

  tx("reads see the transaction's own writes", async ({ store }) => {
    await openAccounts(store, 2);
    await store.transaction(async (tx) => {
      const a = await tx.load(Account, 'acc-0');
      a.balance = 1;
      await tx.save(a);
      assert.is(await tx.load(Account, 'acc-0'), a, 'one object per id in a transaction');
      assert.is(tx.versionOf(a), 2);
      await tx.save(account('fresh', 3));
      assert.is(await tx.exists(Account, 'fresh'), true);
      assert.is((await tx.load(Account, 'fresh')).balance, 3);
      await tx.delete(Account, 'acc-1');
      assert.is(await tx.exists(Account, 'acc-1'), false);
      assert.is(await tx.get(Account, 'acc-1'), undefined);
      await rejects(tx.load(Account, 'acc-1'), NotFoundError);
    });
  });

  tx('a throw half-way stores nothing and leaves the cache, versions, lists and watchers as they were', async ({ store, backend }) => {
    await openAccounts(store, 2);
    const cached = await store.load(Account, 'acc-0');
    const other = await store.load(Account, 'acc-1');
    assert.equal(await store.list(Account), ['acc-0', 'acc-1']);
    const changes: StoreChange[] = [];
    store.watch((change) => changes.push(change));
    const size = store.cache.stats().size;
    const boom = new Error('half-way');
    const thrown = await rejects(
      store.transaction(async (tx) => {
        const a = await tx.load(Account, 'acc-0');
        a.balance -= 10;
        await tx.save(a);
        await tx.save(account('created', 1));
        await tx.delete(Account, 'acc-1');
        throw boom;
      }),
      Error,
    );
    assert.is(thrown, boom, 'the very error is rethrown');
    assert.is((await backend.load('TxAccount', 'acc-0'))?.version, 1);
    assert.is(await backend.exists('TxAccount', 'created'), false);
    assert.is(await backend.exists('TxAccount', 'acc-1'), true);
    assert.is(store.cache.peek(Account, 'acc-0'), cached, 'the cached instance stays');
    assert.is(cached.balance, 100, 'and the transaction changed its own copy, not the cached one');
    assert.is(store.cache.peek(Account, 'acc-1'), other);
    assert.is(store.cache.stats().size, size);
    assert.is(store.versionOf(cached), 1);
    assert.equal(await store.list(Account), ['acc-0', 'acc-1']);
    assert.is(await store.exists(Account, 'created'), false);
    assert.equal(changes, [], 'no change event from a rolled-back transaction');
  });

  tx('a rollback drops from the cache the cached objects the callback saved (it may have changed them)', async ({ store }) => {
    await openAccounts(store, 2);
    const a = await store.load(Account, 'acc-0');
    const b = await store.load(Account, 'acc-1');
    await rejects(
      store.transaction(async (tx) => {
        a.balance = -1;
        await tx.save(a);
        throw new Error('no');
      }),
      Error,
    );
    assert.is(store.cache.peek(Account, 'acc-0'), undefined, 'the changed instance left the cache');
    assert.is(store.cache.peek(Account, 'acc-1'), b, 'the rest stays');
    assert.is((await store.load(Account, 'acc-0')).balance, 100, 'the next load reads what is stored');
    assert.is(store.versionOf(a), 1, 'its version is as before');
  });

  tx('change events come at commit, in order, and reach other stores on the backend', async ({ store, backend }) => {
    await openAccounts(store, 2);
    const sibling = new Store({ backend, registry: store.registry });
    // A feed may greet a new store with a reset (PostgreSQL's does): let it pass before caching.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const seen = await sibling.load(Account, 'acc-0');
    assert.is(sibling.cache.peek(Account, 'acc-0'), seen);
    const changes: string[] = [];
    store.watch((change) => changes.push(change.reset ? 'reset' : `${change.deleted ? 'delete' : 'save'} ${change.id}`));
    await store.transaction(async (tx) => {
      const a = await tx.load(Account, 'acc-0');
      a.balance = 5;
      await tx.save(a);
      await tx.delete(Account, 'acc-1');
      assert.equal(changes, [], 'nothing before the commit');
      assert.is(sibling.cache.peek(Account, 'acc-0'), seen, "another store's cache is untouched before the commit");
    });
    assert.equal(changes, ['save acc-0', 'delete acc-1']);
    assert.is(sibling.cache.peek(Account, 'acc-0'), undefined, "the commit dropped the other store's copy");
    assert.is((await sibling.load(Account, 'acc-0')).balance, 5);

  });

  tx('a failed expectedVersion throws ConflictError; uncaught it rolls back everything', async ({ store, backend }) => {
    await openAccounts(store, 2);
    await rejects(
      store.transaction(async (tx) => {
        await tx.save(account('acc-0', 1));
        await tx.save(account('acc-1', 1), { expectedVersion: 7 });
      }),
      ConflictError,
    );
    assert.is((await backend.load('TxAccount', 'acc-0'))?.version, 1);
    // Caught, the transaction goes on without that save.
    await store.transaction(async (tx) => {
      await rejects(tx.save(account('acc-1', 1), { expectedVersion: 0 }), ConflictError);
      await tx.save(account('acc-0', 2), { expectedVersion: 1 });
    });
    assert.is((await store.load(Account, 'acc-0')).balance, 2);
    assert.is((await backend.load('TxAccount', 'acc-1'))?.version, 1);
  });

  tx('delete with expectedVersion inside a transaction', async ({ store, backend }) => {
    await openAccounts(store, 2);
    await rejects(store.transaction((tx) => tx.delete(Account, 'acc-0', { expectedVersion: 2 })), ConflictError);
    assert.is(await backend.exists('TxAccount', 'acc-0'), true);
    assert.is(await store.transaction((tx) => tx.delete(Account, 'acc-0', { expectedVersion: 1 })), true);
    assert.is(await backend.exists('TxAccount', 'acc-0'), false);
    assert.is(await store.transaction((tx) => tx.delete(Account, 'acc-0', { expectedVersion: 0 })), false);
    const b = await store.load(Account, 'acc-1');
    await store.transaction(async (tx) => {
      await tx.save(b);
      assert.is(await tx.delete(b, { expectedVersion: 2 }), true, 'the version the transaction wrote');
    });
    assert.is(await backend.exists('TxAccount', 'acc-1'), false);
  });

  tx('a container saved in a transaction cascades inside it: a rollback leaves none of its objects', async ({ store, backend }) => {
    const ledger = Object.assign(new Ledger('l'), { accounts: [account('x', 1), account('y', 2)] });
    await rejects(
      store.transaction(async (tx) => {
        await tx.save(ledger);
        assert.is(await tx.exists(Account, 'x'), true, 'cascaded inside the transaction');
        throw new Error('undo');
      }),
      Error,
    );
    assert.equal(await backend.listTypes(), []);
    assert.is(store.versionOf(ledger.accounts[0]!), undefined);
    await store.transaction(async (tx) => {
      await tx.save(ledger);
    });
    assert.equal(await store.list(Account), ['x', 'y']);
    assert.is(store.versionOf(ledger.accounts[1]!), 1);
    const loaded = await store.transaction((tx) => tx.load(Ledger, 'l'));
    assert.equal(
      loaded.accounts.map((a) => a.balance),
      [1, 2],
      'a container loads inside a transaction',
    );
  });

  tx('misuse: no nesting, tx dead after the callback, and the store refuses to save what an open transaction holds', async ({ store }) => {
    await openAccounts(store, 1);
    let kept: Transaction | undefined;
    await store.transaction(async (tx) => {
      kept = tx;
      const nested = await rejects(tx.transaction(), TransactionError, /nest/);
      assert.is(nested.reason, 'nested');
      const a = await tx.load(Account, 'acc-0');
      const outside = await rejects(store.save(a), TransactionError, /tx\.save/);
      assert.is(outside.reason, 'outside');
      assert.is(outside.code, 'ERR_TRANSACTION');
      await rejects(store.delete(a), TransactionError);
    });
    const ended = await rejects(kept!.load(Account, 'acc-0'), TransactionError, /ended/);
    assert.is(ended.reason, 'ended');
    const a = await store.load(Account, 'acc-0');
    assert.is(await store.save(a), a, 'once the transaction ended, the store saves it again');
  });

  tx('writes from outside a transaction wait for it or go on, and none is lost', async ({ store }) => {
    await openAccounts(store, 2);
    let saved: Promise<unknown> | undefined;
    await store.transaction(async (tx) => {
      const a = await tx.load(Account, 'acc-0');
      a.balance += 1;
      // Not awaited here: inside the callback it may have to wait for the commit.
      saved = store.save(account('acc-1', 555));
      await tx.save(a);
    });
    await saved;
    assert.is((await store.load(Account, 'acc-0', { cache: false })).balance, 101);
    assert.is((await store.load(Account, 'acc-1', { cache: false })).balance, 555);
  });

  const stores = async (context: Context): Promise<{ stores: Store[]; close: () => Promise<void> }> => {
    if (!options.peer) return { stores: [context.store, new Store({ backend: context.backend, registry: context.store.registry })], close: async () => {} };
    const peer = await options.peer(context.backend);
    return { stores: [context.store, new Store({ backend: peer, registry: context.store.registry })], close: () => peer.close() };
  };

  tx('concurrent transfers keep the total, and a reader in a transaction never sees half of one', async (context) => {
    const ids = await openAccounts(context.store, 5);
    const total = ids.length * 100;
    const { stores: [mine, theirs], close } = await stores(context);
    try {
      const next = seededRandom(20);
      const transfers = (store: Store, count: number) =>
        (async () => {
          for (let i = 0; i < count; i++) {
            const from = ids[Math.floor(next() * ids.length)]!;
            let to = ids[Math.floor(next() * ids.length)]!;
            if (to === from) to = ids[(ids.indexOf(from) + 1) % ids.length]!;
            await transfer(store, from, to, 1 + Math.floor(next() * 20));
          }
        })();
      const sums: number[] = [];
      let done = false;
      const reader = (async () => {
        while (!done) {
          sums.push(await totalOf(theirs!, ids));
          // A reader that takes its next transaction at once could keep a peer waiting for the lock.
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })();
      try {
        await Promise.all([transfers(mine!, 15), transfers(mine!, 15), transfers(theirs!, 15), transfers(theirs!, 15)]);
      } finally {
        done = true;
        await reader;
      }
      assert.ok(sums.length > 0, 'the reader read');
      assert.equal([...new Set(sums)], [total], 'every read saw whole transactions');
      assert.is(await totalOf(mine!, ids), total);
      let stored = 0;
      for (const id of ids) stored += (await mine!.load(Account, id, { cache: false })).balance;
      assert.is(stored, total);
    } finally {
      await close();
    }
  });

  tx('a reader outside an open transaction sees none of it until the commit', async (context) => {
    await openAccounts(context.store, 2);
    const { stores: [, theirs], close } = await stores(context);
    try {
      let halfway!: () => void;
      const reached = new Promise<void>((resolve) => (halfway = resolve));
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let ending = false;
      const running = context.store.transaction(async (tx) => {
        const a = await tx.load(Account, 'acc-0');
        a.balance = 0;
        await tx.save(a);
        halfway();
        await held;
        ending = true;
      });
      await reached;
      // The read either answers now, from before the transaction, or (a backend whose readers wait) after its commit.
      const read = theirs!.load(Account, 'acc-0', { cache: false }).then((a) => ({ balance: a.balance, ending }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      release();
      await running;
      const seen = await read;
      if (seen.balance === 0) assert.ok(seen.ending, 'the new balance was seen only once the callback had ended');
      else assert.is(seen.balance, 100);
      assert.is((await theirs!.load(Account, 'acc-0', { cache: false })).balance, 0);
    } finally {
      await close();
    }
  });

  tx('a transaction that throws after others committed leaves their work and none of its own', async ({ store }) => {
    const ids = await openAccounts(store, 2);
    const failing = store.transaction(async (tx) => {
      const a = await tx.load(Account, 'acc-0');
      a.balance = 0;
      await tx.save(a);
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('late');
    });
    const committed = transfer(store, 'acc-0', 'acc-1', 30);
    await rejects(failing, Error, /late/);
    await committed;
    assert.equal(
      await Promise.all(ids.map(async (id) => (await store.load(Account, id, { cache: false })).balance)),
      [70, 130],
    );
  });

  tx.run();
}
