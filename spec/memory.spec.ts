import { InMemoryBackend } from '../src/index.js';
import { backendSuite } from './conformance.js';

backendSuite('memory', () => new InMemoryBackend(), { atomicBatches: true });
