// @keyv/test-suite, unmodified, on a cuttle Store over the memory backend.
import { InMemoryBackend, Store } from '../src/index.js';
import { keyvSuiteOn } from './suite.js';

keyvSuiteOn(new Store({ backend: new InMemoryBackend() }));
