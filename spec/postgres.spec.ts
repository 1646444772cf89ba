import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PostgresBackend } from '../src/postgres.js';
import { backendSuite } from './conformance.js';
import { dropSchema, freshSchema, PG_URL } from './postgres-server.js';

let schema = freshSchema('conf');
const make = () => new PostgresBackend({ connectionString: PG_URL, schema });
backendSuite('postgres', make, {
  reopen: async (backend) => {
    await backend.close();
    return make();
  },
  atomicBatches: true,
  teardown: async () => {
    await dropSchema(schema);
    schema = freshSchema('conf');
  },
});
