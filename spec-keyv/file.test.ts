// @keyv/test-suite, unmodified, on a cuttle Store over a folder of files of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import Keyv from 'keyv';
import * as test from 'vitest';
import { FileBackend, Store } from '../src/index.js';
import { KeyvCuttle } from '../src/keyv.js';

const dir = mkdtempSync(join(tmpdir(), 'cuttle-keyv-'));
const store = new Store({ backend: new FileBackend({ path: join(dir, 'objects') }) });
const adapter = () => new KeyvCuttle(store);

keyvTestSuite(test, Keyv, adapter);
keyvIteratorTests(test, Keyv, adapter);
test.afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});
