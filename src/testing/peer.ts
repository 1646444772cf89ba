// Two backend objects on the same data (two processes, two connections, two servers): part of the
// conformance suite for every backend that can open a `peer`. Another writer's saves and deletes
// are seen by this store's cache as docs/cache.md promises, and version checks hold across them:
// of two writers with one expectedVersion, or two creators of one id, exactly one wins.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError, Serializable, Store, type StorageBackend } from '../core.js';
import { nextTurn } from '../next-turn.js';
import type { BackendSuiteOptions } from './options.js';

class Item extends Serializable {
  static override typeName = 'PeerItem';
  label = '';
}

const item = (id: string, label: string) => Object.assign(new Item(id), { label });
/** The cache checks for other writers once per event-loop iteration: let one end. */
const nextIteration = () => new Promise<void>((resolve) => nextTurn(resolve));

interface Context {
  backend: StorageBackend;
  peer: StorageBackend;
  /** A store on `backend`, with its cache on. */
  mine: Store;
  /** A store on the peer: the other writer. */
  theirs: Store;
}

export function peerSuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions): void {
  const makePeer = options.peer;
  if (makePeer === undefined) return;
  const test = suite<Context>(`conformance: ${name} with a peer`, {} as Context);
  test.before.each(async (context) => {
    context.backend = await makeBackend();
    context.peer = await makePeer(context.backend);
    context.mine = new Store({ backend: context.backend });
    context.theirs = new Store({ backend: context.peer, cache: false });
  });
  test.after.each(async ({ backend, peer }) => {
    await peer.close();
    await backend.close();
    await options.teardown?.();
  });

  /** Waits until the store on `backend` has seen what the peer committed (at once where the backend polls). */
  const settle = async () => {
    await nextIteration();
    await options.peerSettles?.();
  };

  test('a save by the other writer is seen by the next cached load, peek and has', async ({ mine, theirs }) => {
    const own = await mine.save(item('a', 'mine'));
    assert.is(await mine.load(Item, 'a'), own, 'served from the cache');
    await theirs.save(item('a', 'theirs'));
    await settle();
    assert.is(mine.cache.peek(Item, 'a'), undefined, 'the stale copy is gone');
    const loaded = await mine.load(Item, 'a');
    assert.is(loaded.label, 'theirs');
    assert.is(mine.versionOf(loaded), 2);
    assert.ok(mine.cache.stats().outsideDrops >= 1, 'counted as an entry dropped by an outside change');
  });

  test('a delete by the other writer is seen by the next load, exists, has and list', async ({ mine, theirs }) => {
    await mine.save(item('a', 'mine'));
    await mine.save(item('b', 'mine'));
    assert.equal(await mine.list(Item), ['a', 'b']);
    assert.ok(mine.cache.has(Item, 'a'));
    await theirs.delete(Item, 'a');
    await settle();
    assert.is(mine.cache.has(Item, 'a'), false);
    assert.is(await mine.exists(Item, 'a'), false);
    assert.is(await mine.get(Item, 'a'), undefined);
    assert.equal(await mine.list(Item), ['b']);
  });

  test('objects the other writer creates are seen by the next list and count', async ({ mine, theirs }) => {
    await mine.save(item('a', 'mine'));
    assert.equal(await mine.list(Item), ['a']);
    await theirs.save(item('c', 'theirs'));
    await settle();
    assert.equal(await mine.list(Item), ['a', 'c']);
    assert.is(await mine.count(Item), 2);
  });

  test('own saves and deletes do not count as outside changes', async ({ mine }) => {
    const a = await mine.save(item('a', 'one'));
    await settle();
    await mine.save(item('b', 'two'));
    await mine.delete(Item, 'b');
    await settle();
    assert.is(await mine.load(Item, 'a'), a);
    assert.equal([mine.cache.stats().outsideChanges, mine.cache.stats().outsideResets], [0, 0]);
  });

  test('two writers with one expectedVersion: exactly one wins, every time', async ({ mine, theirs }) => {
    for (let round = 0; round < 20; round++) {
      const id = `v${round}`;
      await mine.save(item(id, 'first'));
      const results = await Promise.allSettled([
        mine.save(item(id, 'mine'), { expectedVersion: 1 }),
        theirs.save(item(id, 'theirs'), { expectedVersion: 1 }),
      ]);
      const won = results.filter((result) => result.status === 'fulfilled');
      assert.is(won.length, 1, `round ${round}: one winner`);
      const lost = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      assert.instance(lost.reason, ConflictError);
      assert.is((lost.reason as ConflictError).actualVersion, 2);
      assert.is((await theirs.load(Item, id)).label, (won[0] as PromiseFulfilledResult<Item>).value.label);
    }
  });

  test('two creators of one id (expectedVersion 0): exactly one wins, every time', async ({ mine, theirs }) => {
    for (let round = 0; round < 20; round++) {
      const id = `c${round}`;
      const results = await Promise.allSettled([mine.save(item(id, 'mine'), { expectedVersion: 0 }), theirs.save(item(id, 'theirs'), { expectedVersion: 0 })]);
      assert.is(results.filter((result) => result.status === 'fulfilled').length, 1, `round ${round}: one creator`);
      assert.is((await theirs.load(Item, id)).label, results[0]!.status === 'fulfilled' ? 'mine' : 'theirs');
    }
  });

  test('read-modify-write with expectedVersion from both writers loses no increment', async ({ mine, theirs }) => {
    await mine.save(item('counter', '0'));
    const increment = async (store: Store, times: number) => {
      for (let done = 0; done < times; ) {
        const current = await store.load(Item, 'counter', { cache: false });
        current.label = String(Number(current.label) + 1);
        try {
          await store.save(current, { expectedVersion: store.versionOf(current) });
          done++;
        } catch (error) {
          if (!(error instanceof ConflictError)) throw error;
        }
      }
    };
    await Promise.all([increment(mine, 25), increment(theirs, 25)]);
    const counter = await theirs.load(Item, 'counter');
    assert.is(counter.label, '50');
    assert.is(theirs.versionOf(counter), 51);
  });

  test.run();
}
