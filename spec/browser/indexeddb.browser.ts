// The IndexedDB backend's tests (the conformance suite and its own) in real Chromium: bundled
// and served by scripts/test-browser.mjs, which reads `uvuOutput` once `uvuDone` is set.
import './uvu-setup.js';
import { exec } from 'uvu';
import { indexedDbSuite } from '../indexeddb-suite.js';

indexedDbSuite('Chromium');
try {
  await exec();
} finally {
  (globalThis as unknown as { uvuDone: boolean }).uvuDone = true;
}
