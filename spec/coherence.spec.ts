// The cache never serves an object that another process changed before the current event-loop
// iteration: a second process saves or deletes, and this process's next load (in a later
// iteration) sees it. Run on every persistent backend.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openBackend, type BackendKind } from '../src/backends/kinds.js';
import { Serializable, Store } from '../src/index.js';
import { tempDir } from './helpers.js';

class Item extends Serializable {
  label = '';
}

const WRITER = new URL('./fixtures/outside-writer.ts', import.meta.url).pathname;
const nextIteration = () => new Promise((resolve) => setImmediate(resolve));

const PERSISTENT: Array<{ kind: BackendKind; path: (dir: string) => string }> = [
  { kind: 'sqlite', path: (dir) => join(dir, 'shared.db') },
  { kind: 'file', path: (dir) => join(dir, 'data') },
];

for (const { kind, path: pathIn } of PERSISTENT) {
  const test = suite<{ dir: ReturnType<typeof tempDir>; path: string; store: Store }>(`cache coherence: ${kind}`, {} as never);
  const outside = (path: string, ...args: string[]) => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', WRITER, kind, path, ...args], { encoding: 'utf8' });
    assert.is(result.status, 0, result.stderr);
  };

  test.before.each((context) => {
    context.dir = tempDir();
    context.path = pathIn(context.dir.path);
    context.store = new Store({ backend: openBackend(kind, { path: context.path } as never, 'spec') });
  });
  test.after.each(async ({ store, dir }) => {
    await store.close();
    dir.remove();
  });

  test('a save by another process is seen by the next load', async ({ store, path }) => {
    const mine = await store.save(Object.assign(new Item('a'), { label: 'mine' }));
    assert.is(await store.load(Item, 'a'), mine);
    outside(path, 'save', 'a', 'theirs');
    await nextIteration();
    const loaded = await store.load(Item, 'a');
    assert.is(loaded.label, 'theirs');
    assert.is(store.versionOf(loaded), 2);
    assert.is(store.cache.stats().outsideChanges, 1);
  });

  test('a delete by another process is seen by the next load', async ({ store, path }) => {
    await store.save(Object.assign(new Item('a'), { label: 'mine' }));
    await store.load(Item, 'a');
    outside(path, 'delete', 'a');
    await nextIteration();
    assert.is(await store.get(Item, 'a'), undefined);
  });

  test('a delete by another process is seen by the next exists of a cached object', async ({ store, path }) => {
    await store.save(Object.assign(new Item('a'), { label: 'mine' }));
    assert.is(await store.exists(Item, 'a'), true);
    outside(path, 'delete', 'a');
    await nextIteration();
    assert.is(await store.exists(Item, 'a'), false);
  });

  test('a save by another process is seen by the next cache.peek', async ({ store, path }) => {
    const mine = await store.save(Object.assign(new Item('a'), { label: 'mine' }));
    assert.is(store.cache.peek(Item, 'a'), mine);
    outside(path, 'save', 'a', 'theirs');
    await nextIteration();
    assert.is(store.cache.peek(Item, 'a'), undefined, 'the stale copy is gone');
    assert.is((await store.load(Item, 'a')).label, 'theirs');
  });

  test('a delete by another process is seen by the next cache.has', async ({ store, path }) => {
    await store.save(Object.assign(new Item('a'), { label: 'mine' }));
    assert.is(store.cache.has(Item, 'a'), true);
    outside(path, 'delete', 'a');
    await nextIteration();
    assert.is(store.cache.has(Item, 'a'), false);
  });

  test('objects another process creates or deletes are seen by the next list', async ({ store, path }) => {
    await store.save(Object.assign(new Item('a'), { label: 'mine' }));
    assert.equal(await store.list(Item), ['a']);
    outside(path, 'save', 'b', 'theirs');
    await nextIteration();
    assert.equal(await store.list(Item), ['a', 'b']);
    outside(path, 'delete', 'a');
    await nextIteration();
    assert.equal(await store.list(Item), ['b']);
  });

  test('own saves do not empty the cache', async ({ store }) => {
    const a = await store.save(Object.assign(new Item('a'), { label: 'one' }));
    await nextIteration();
    await store.save(Object.assign(new Item('b'), { label: 'two' }));
    await nextIteration();
    assert.is(await store.load(Item, 'a'), a);
    assert.is(store.cache.stats().outsideChanges, 0);
  });

  test.run();
}
