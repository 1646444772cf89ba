// The IndexedDB backend under fake-indexeddb, in Node: the fast run. The same tests run in real
// Chromium through scripts/test-browser.mjs (spec/browser/).
import 'fake-indexeddb/auto';
import { forceCloseDatabase } from 'fake-indexeddb';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BackendChange } from '../src/core.js';
import { IndexedDbBackend } from '../src/indexeddb.js';
import { indexedDbSuite } from './indexeddb-suite.js';

indexedDbSuite('fake-indexeddb');

// What only fake-indexeddb can do: close a connection as the browser does when the user clears the
// site's data (forceCloseDatabase; a page cannot do that to itself).
const test = suite('IndexedDbBackend (fake-indexeddb only)');

test('a connection the browser closed is a reset, and the backend reconnects for the next call', async () => {
  const connections: IDBDatabase[] = [];
  const open = indexedDB.open.bind(indexedDB);
  indexedDB.open = (...args: Parameters<IDBFactory['open']>) => {
    const request = open(...args);
    request.addEventListener('success', () => connections.push(request.result));
    return request;
  };
  try {
    const backend = new IndexedDbBackend({ name: `force-close-${Date.now()}` });
    await backend.write({ type: 'T', id: 'a', kind: 'object', content: '{"json":1}' });
    const heard: BackendChange[] = [];
    backend.changes((changes) => heard.push(...changes));
    assert.is(connections.length, 1);
    // Its typings want the IDBDatabase class; it takes a connection.
    forceCloseDatabase(connections[0]! as never);
    assert.equal(heard, [{ reset: true }]);
    assert.is((await backend.load('T', 'a'))?.content, '{"json":1}', 'read through a new connection');
    assert.is(connections.length, 2);
    await backend.write({ type: 'T', id: 'b', kind: 'object', content: '{"json":2}' });
    assert.equal(await backend.list('T'), ['a', 'b']);
    await backend.close();
  } finally {
    indexedDB.open = open;
  }
});

test.run();
