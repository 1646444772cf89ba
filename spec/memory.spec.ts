import { InMemoryBackend } from '../src/index.js';
import { backendSuite } from '../src/testing/index.js';

backendSuite('memory', () => new InMemoryBackend(), { atomicBatches: true, transactions: true });
