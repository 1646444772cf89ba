// @keyv/test-suite, unmodified, on a cuttle Store over a folder of files of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend, Store } from '../src/index.js';
import { keyvSuiteOn } from './suite.js';

const dir = mkdtempSync(join(tmpdir(), 'cuttle-keyv-'));
keyvSuiteOn(new Store({ backend: new FileBackend({ path: join(dir, 'objects') }) }), () => rmSync(dir, { recursive: true, force: true }));
