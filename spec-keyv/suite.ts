// What every spec-keyv file runs: @keyv/test-suite, unmodified (keyvTestSuite and
// keyvIteratorTests), on a KeyvCuttle over `store`; then the store is closed and `cleanup` runs.
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import Keyv from 'keyv';
import * as test from 'vitest';
import type { Store } from '../src/index.js';
import { KeyvCuttle } from '../src/keyv.js';

export function keyvSuiteOn(store: Store, cleanup: () => void | Promise<void> = () => {}): void {
  const adapter = () => new KeyvCuttle(store);
  keyvTestSuite(test, Keyv, adapter);
  keyvIteratorTests(test, Keyv, adapter);
  test.afterAll(async () => {
    await store.close();
    await cleanup();
  });
}
