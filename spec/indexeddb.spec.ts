// The IndexedDB backend under fake-indexeddb, in Node: the fast run. The same tests run in real
// Chromium through scripts/test-browser.mjs (spec/browser/).
import 'fake-indexeddb/auto';
import { indexedDbSuite } from './indexeddb-suite.js';

indexedDbSuite('fake-indexeddb');
