// Others' changes and `watch`: part of the conformance suite for every backend. "Others" are a
// second store on the same backend object (every backend), and, where the backend can open a
// `peer` (a second connection, as another process or server would), a store on the peer. Either
// way a store drops exactly what the other changed, keeps the rest cached, empties its cache on
// a clear or an import, and `watch` reports both its own changes and the other's, in order.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Serializable, Store, type StorageBackend, type StoreChange } from '../core.js';
import { nextTurn } from '../next-turn.js';
import type { BackendSuiteOptions } from './options.js';

class Item extends Serializable {
  static override typeName = 'FeedItem';
  label = '';
}
class Other extends Serializable {
  static override typeName = 'FeedOther';
}

const item = (id: string, label: string) => Object.assign(new Item(id), { label });
const nextIteration = () => new Promise<void>((resolve) => nextTurn(resolve));

interface Context {
  backend: StorageBackend;
  /** The backend the other writer uses: the peer, or `backend` itself. */
  theirBackend: StorageBackend;
  mine: Store;
  theirs: Store;
}

/** What a watch listener saw, without the order-irrelevant fields. */
const seen = (changes: StoreChange[]) => changes.map((change) => (change.reset === true ? `reset ${change.local ? 'local' : 'outside'}` : `${change.local ? 'local' : 'outside'} ${change.deleted ? 'delete' : 'save'} ${change.type}/${change.id} v${change.deleted ? '' : change.version}`));

export function feedSuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions): void {
  for (const other of options.peer ? (['a store on a peer', 'a second store on the backend'] as const) : (['a second store on the backend'] as const)) {
    const test = suite<Context>(`conformance: ${name} others' changes, from ${other}`, {} as Context);
    test.before.each(async (context) => {
      context.backend = await makeBackend();
      context.theirBackend = other === 'a store on a peer' ? await options.peer!(context.backend) : context.backend;
      context.mine = new Store({ backend: context.backend, watchInterval: 5 });
      context.theirs = new Store({ backend: context.theirBackend, cache: false, registry: context.mine.registry });
    });
    test.after.each(async ({ backend, theirBackend }) => {
      if (theirBackend !== backend) await theirBackend.close();
      await backend.close();
      await options.teardown?.();
    });

    /** Until the store on `backend` has heard what the other committed. */
    const settle = async () => {
      await nextIteration();
      if (other === 'a store on a peer') await options.peerSettles?.();
    };

    test('a save and a delete by the other drop exactly those objects; the rest stay cached', async ({ mine, theirs }) => {
      const [a, b, c] = [await mine.save(item('a', 'mine')), await mine.save(item('b', 'mine')), await mine.save(item('c', 'mine'))];
      await settle();
      const before = mine.cache.stats();
      await theirs.save(item('a', 'theirs'));
      await theirs.delete(Item, 'b');
      await settle();
      assert.is(mine.cache.peek(Item, 'c'), c, 'c was not changed: still cached');
      assert.is(mine.cache.peek(Item, 'a'), undefined);
      assert.is(mine.cache.has(Item, 'b'), false);
      const after = mine.cache.stats();
      assert.is(after.outsideDrops - before.outsideDrops, 2, 'two entries dropped');
      assert.is(after.outsideResets, before.outsideResets, 'no reset');
      assert.is((await mine.load(Item, 'a')).label, 'theirs');
      assert.is(await mine.get(Item, 'b'), undefined);
      assert.equal(await mine.list(Item), ['a', 'c']);
      assert.ok(a !== (await mine.load(Item, 'a')) && b !== undefined);
    });

    test('a clear or an import by the other empties the cache (a reset)', async ({ mine, theirs }) => {
      await mine.save(item('a', 'mine'));
      await settle();
      const before = mine.cache.stats().outsideResets;
      await theirs.clear();
      await settle();
      assert.is(mine.cache.has(Item, 'a'), false);
      assert.is(mine.cache.stats().outsideResets - before, 1, 'one reset');
      assert.is(await mine.get(Item, 'a'), undefined);
      await mine.save(item('b', 'mine'));
      await mine.save(item('c', 'mine'));
      await settle();
      await theirs.importData({ header: { format: 'cuttle-dump', version: 1 }, records: [{ type: 'FeedItem', id: 'b', kind: 'object', content: '{"json":{"label":"imported"}}', version: 5, updatedAt: 0 }] });
      await settle();
      assert.is(mine.cache.has(Item, 'b'), false);
      assert.is(mine.cache.has(Item, 'c'), false, 'an import is reported as a reset: it may have changed anything');
      assert.is(mine.cache.stats().outsideResets - before, 2);
      assert.is((await mine.load(Item, 'b')).label, 'imported');
    });

    test('watch reports own changes (local) and the other\'s, in order, without a load; unsubscribe stops it', async ({ mine, theirs }) => {
      const events: StoreChange[] = [];
      const stop = mine.watch((change) => events.push(change));
      await mine.save(item('a', 'one'));
      await mine.save(item('a', 'two'));
      await mine.delete(Item, 'a');
      assert.equal(seen(events), ['local save FeedItem/a v1', 'local save FeedItem/a v2', 'local delete FeedItem/a v']);
      events.length = 0;
      await theirs.save(item('t', 'x'));
      await theirs.save(item('t', 'y'));
      await theirs.delete(Item, 't');
      // No load: the watch hears of it by itself, within its interval.
      for (let i = 0; i < 400 && events.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(seen(events), ['outside save FeedItem/t v1', 'outside save FeedItem/t v2', 'outside delete FeedItem/t v']);
      stop();
      events.length = 0;
      await mine.save(item('b', 'after'));
      await theirs.save(item('u', 'after'));
      await settle();
      await mine.load(Item, 'b');
      assert.equal(events, [], 'nothing after unsubscribe');
    });

    test('watch with types reports those classes (and resets); a listener that throws breaks nothing', async ({ mine, theirs }) => {
      const items: StoreChange[] = [];
      const errors: unknown[] = [];
      mine.watch((change) => items.push(change), { types: [Item] });
      mine.watch(() => {
        throw new Error('listener bug');
      }, { onError: (error) => errors.push(error) });
      const all: StoreChange[] = [];
      mine.watch((change) => all.push(change));
      await mine.save(Object.assign(new Other('o')));
      await mine.save(item('i', 'x'));
      await theirs.clear();
      for (let i = 0; i < 400 && !all.some((change) => change.reset === true); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(seen(items), ['local save FeedItem/i v1', 'reset outside']);
      assert.equal(seen(all), ['local save FeedOther/o v1', 'local save FeedItem/i v1', 'reset outside'], 'the other listeners still heard everything');
      assert.is(errors.length, 3);
      assert.is((errors[0] as Error).message, 'listener bug');
      assert.is((await mine.save(item('j', 'still works'))).label, 'still works');
    });

    if (other === 'a store on a peer') {
      test('an object the other creates at a version other than 1 (a put, as imports write) joins the kept id list', async ({ mine, theirBackend }) => {
        await mine.save(item('a', 'mine'));
        assert.equal(await mine.list(Item), ['a'], 'the list is kept');
        await theirBackend.put({ type: 'FeedItem', id: 'p', kind: 'object', content: '{"json":{"label":"put"}}', version: 7, updatedAt: 0 });
        await settle();
        assert.equal(await mine.list(Item), ['a', 'p']);
        assert.is(await mine.count(Item), 2);
        await theirBackend.put({ type: 'FeedItem', id: 'p', kind: 'object', content: '{"json":{"label":"again"}}', version: 9, updatedAt: 0 });
        await settle();
        assert.equal(await mine.list(Item), ['a', 'p'], 'once');
        assert.is((await mine.load(Item, 'p')).label, 'again');
      });
    }

    const overflow = options.logOverflow;
    if (other === 'a store on a peer' && overflow !== undefined) {
      test(`a change log pruned past this store's position gives a reset, never a stale read (${overflow} changes by the other)`, async ({ mine, theirs }) => {
        await mine.save(item('a', 'mine'));
        await mine.save(item('b', 'mine'));
        await settle();
        const before = mine.cache.stats();
        // The store does not look while the other writes: its position falls off the pruned end.
        await theirs.save(item('a', 'theirs'));
        await theirs.saveMany(Array.from({ length: overflow }, (_, i) => Object.assign(new Other(`o${i}`))));
        await settle();
        assert.is((await mine.load(Item, 'a')).label, 'theirs', 'the change of a was pruned from the log, and still not missed');
        assert.is(mine.cache.has(Item, 'b'), false, 'a reset empties the cache');
        assert.is(mine.cache.stats().outsideResets - before.outsideResets, 1, 'one reset');
        assert.is(await mine.count(Other), overflow);
      });
    }

    test.run();
  }
}
