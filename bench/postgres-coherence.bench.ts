// Coherence latency on PostgreSQL (issue #18): how long after a save through one backend (its own
// pool and connections, as another app server would have) a second backend's Store has dropped
// its cached copy, heard through LISTEN/NOTIFY. Both in this process; the delivery path (commit,
// NOTIFY, the listening connection, the Store's cache) is the one between servers.
// Usage: npm run bench -- postgres-coherence [-- --quick]
import pg from 'pg';
import { Serializable, Store } from '../dist/index.js';
import { PostgresBackend } from '../dist/postgres.js';
import { machine, quick } from './harness.js';

const PG_URL = process.env.CUTTLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SAMPLES = quick ? 100 : 400;
const schema = `cuttle_coherence_bench_${process.pid}`;

class Doc extends Serializable {
  static override typeName = 'CoherenceDoc';
  n = 0;
}

async function listening(backend: PostgresBackend): Promise<PostgresBackend> {
  backend.changes(() => {});
  while (backend.feed.state !== 'listening') await new Promise((resolve) => setTimeout(resolve, 10));
  return backend;
}

const writer = new Store({ backend: await listening(new PostgresBackend({ connectionString: PG_URL, schema })), cache: false });
const reader = new Store({ backend: await listening(new PostgresBackend({ connectionString: PG_URL, schema })) });
const fromCall: number[] = [];
const fromReturn: number[] = [];
try {
  await writer.save(Object.assign(new Doc('d'), { n: 0 }));
  for (let i = 1; i <= SAMPLES; i++) {
    await reader.load(Doc, 'd');
    while (reader.cache.peek(Doc, 'd') === undefined) await reader.load(Doc, 'd');
    const called = performance.now();
    await writer.save(Object.assign(new Doc('d'), { n: i }));
    const returned = performance.now();
    while (reader.cache.peek(Doc, 'd') !== undefined) await new Promise((resolve) => setImmediate(resolve));
    const dropped = performance.now();
    fromCall.push(dropped - called);
    fromReturn.push(dropped - returned);
  }
} finally {
  await writer.close();
  await reader.close();
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}
const at = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;
console.log(`${machine()}; ${SAMPLES} saves, each until the other store's cache dropped the object`);
console.log(`  from the save's call:   median ${at(fromCall, 0.5).toFixed(2)} ms, p99 ${at(fromCall, 0.99).toFixed(2)} ms`);
console.log(`  from the save's return: median ${at(fromReturn, 0.5).toFixed(2)} ms, p99 ${at(fromReturn, 0.99).toFixed(2)} ms`);
console.log('  targets: median < 5 ms, p99 < 20 ms');
