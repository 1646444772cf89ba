import { join } from 'node:path';
import { SqliteBackend } from '../src/backends/sqlite.js';
import { backendSuite } from './conformance.js';
import { tempDir } from './helpers.js';

let dir = tempDir('cuttle-sqlite-');
const file = () => join(dir.path, 'store.db');
backendSuite('sqlite file', () => new SqliteBackend({ path: file() }), {
  reopen: async (backend) => {
    await backend.close();
    return new SqliteBackend({ path: file() });
  },
  atomicBatches: true,
  teardown: () => {
    dir.remove();
    dir = tempDir('cuttle-sqlite-');
  },
});
backendSuite('sqlite :memory:', () => new SqliteBackend({ path: ':memory:' }), { atomicBatches: true });
