// @keyv/test-suite, unmodified, on a cuttle Store over the memory backend.
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import Keyv from 'keyv';
import * as test from 'vitest';
import { InMemoryBackend, Store } from '../src/index.js';
import { KeyvCuttle } from '../src/keyv.js';

const store = new Store({ backend: new InMemoryBackend() });
const adapter = () => new KeyvCuttle(store);

keyvTestSuite(test, Keyv, adapter);
keyvIteratorTests(test, Keyv, adapter);
test.afterAll(() => store.close());
