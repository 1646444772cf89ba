// `delete(obj, { expectedVersion })` outside transactions, on every backend: part of the
// conformance suite (backendSuite calls checkedDeleteSuite). The backend's own delete checks the
// version atomically with the delete; through a Store, a refused delete keeps the object stored
// and leaves no stale copy in the cache.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError, Serializable, Store, type StorageBackend } from '../core.js';
import { rejects } from './assert.js';
import type { BackendSuiteOptions } from './options.js';

class Memo extends Serializable {
  static override typeName = 'DelMemo';
  text = '';
}

interface Context {
  backend: StorageBackend;
  store: Store;
}

export function checkedDeleteSuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions = {}): void {
  const test = suite<Context>(`conformance: ${name} delete with expectedVersion`, {} as Context);
  test.before.each(async (context) => {
    context.backend = await makeBackend();
    context.store = new Store({ backend: context.backend });
  });
  test.after.each(async ({ backend }) => {
    await backend.close();
    await options.teardown?.();
  });

  test('the backend deletes only the expected version', async ({ backend }) => {
    await backend.write({ type: 'DelMemo', id: 'a', kind: 'object', content: '{"json":{}}' });
    await backend.write({ type: 'DelMemo', id: 'a', kind: 'object', content: '{"json":{}}' });
    const conflict = await rejects(backend.delete('DelMemo', 'a', 1), ConflictError);
    assert.is(conflict.expectedVersion, 1);
    assert.is(conflict.actualVersion, 2);
    assert.is(await backend.exists('DelMemo', 'a'), true);
    await rejects(backend.delete('DelMemo', 'a', 0), ConflictError);
    assert.is(await backend.delete('DelMemo', 'a', 2), true);
    assert.is(await backend.exists('DelMemo', 'a'), false);
    assert.is(await backend.delete('DelMemo', 'a', 0), false, '0: not stored, as expected; nothing to delete');
    const missing = await rejects(backend.delete('DelMemo', 'a', 1), ConflictError);
    assert.is(missing.actualVersion, 0);
    assert.is(await backend.delete('DelMemo', 'never', 0), false);
  });

  test('store.delete(obj, { expectedVersion }): a stale version is refused and the object stays', async ({ store, backend }) => {
    const memo = await store.save(Object.assign(new Memo('m'), { text: 'one' }));
    const cold = new Store({ backend, registry: store.registry, cache: false });
    const other = await cold.load(Memo, 'm');
    other.text = 'two';
    await cold.save(other);
    await rejects(store.delete(memo, { expectedVersion: store.versionOf(memo)! }), ConflictError);
    assert.is(await backend.exists('DelMemo', 'm'), true);
    assert.is((await store.load(Memo, 'm')).text, 'two', 'no stale copy stayed cached');
    assert.is(await store.delete(Memo, 'm', { expectedVersion: 2 }), true);
    assert.is(await store.exists(Memo, 'm'), false);
    assert.equal(await store.list(Memo), []);

  });

  test('delete options are checked', async ({ store }) => {
    await rejects(store.delete(Memo, 'm', { expectedVersion: -1 }), Error, /expectedVersion/);
    await rejects(store.delete(Memo, 'm', { expectedVerison: 1 } as never), Error, /expectedVerison/);
  });

  test.run();
}
