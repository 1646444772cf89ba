// @keyv/test-suite, unmodified, on a cuttle Store over a SQLite file of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteBackend, Store } from '../src/index.js';
import { keyvSuiteOn } from './suite.js';

const dir = mkdtempSync(join(tmpdir(), 'cuttle-keyv-'));
keyvSuiteOn(new Store({ backend: new SqliteBackend({ path: join(dir, 'keyv.db') }) }), () => rmSync(dir, { recursive: true, force: true }));
