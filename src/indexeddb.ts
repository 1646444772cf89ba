/**
 * `cuttle/indexeddb`: the IndexedDB backend, for browsers (and workers). Importing it also makes
 * the `'indexeddb'` kind known, so `Storage.configure('indexeddb', { name })` opens one; the
 * browser build of `cuttle` includes it already.
 *
 *     import { Storage } from 'cuttle';
 *     import { IndexedDbBackend } from 'cuttle/indexeddb';
 *     Storage.use(new IndexedDbBackend({ name: 'notes' }));
 * @module
 */
import { IndexedDbBackend, type IndexedDbBackendOptions } from './backends/indexeddb.js';
import { defineBackendKind } from './kinds.js';

export { IndexedDbBackend, type IndexedDbBackendOptions } from './backends/indexeddb.js';

declare module './kinds.js' {
  interface BackendOptionsByKind {
    indexeddb: IndexedDbBackendOptions;
  }
}

defineBackendKind('indexeddb', {
  open: (options) => new IndexedDbBackend(options),
  options: ['name', 'now', 'messageTimeout'],
});
