// @keyv/test-suite, unmodified, on a cuttle Store over PostgreSQL, in a schema of its own
// (spec/postgres-server.ts: CUTTLE_PG_URL, or the machine's server).
import { Store } from '../src/index.js';
import { PostgresBackend } from '../src/postgres.js';
import { dropSchema, endAdmin, freshSchema, PG_URL } from '../spec/postgres-server.js';
import { keyvSuiteOn } from './suite.js';

const schema = freshSchema('keyv');
keyvSuiteOn(new Store({ backend: new PostgresBackend({ connectionString: PG_URL, schema }) }), async () => {
  await dropSchema(schema);
  await endAdmin();
});
