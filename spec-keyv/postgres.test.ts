// @keyv/test-suite, unmodified, on a cuttle Store over PostgreSQL, in a schema of its own
// (spec/postgres-server.ts: CUTTLE_PG_URL, or the machine's server).
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import Keyv from 'keyv';
import * as test from 'vitest';
import { Store } from '../src/index.js';
import { KeyvCuttle } from '../src/keyv.js';
import { PostgresBackend } from '../src/postgres.js';
import { dropSchema, endAdmin, freshSchema, PG_URL } from '../spec/postgres-server.js';

const schema = freshSchema('keyv');
const store = new Store({ backend: new PostgresBackend({ connectionString: PG_URL, schema }) });
const adapter = () => new KeyvCuttle(store);

keyvTestSuite(test, Keyv, adapter);
keyvIteratorTests(test, Keyv, adapter);
test.afterAll(async () => {
  await store.close();
  await dropSchema(schema);
  await endAdmin();
});
