// Queries at N = 100,000 on PostgreSQL: equality, range, a sorted top-20 and a count, with and
// without an index, against raw pg running the very SQL cuttle compiles as a prepared statement
// and parsing each row's JSON (the ceiling); the indexes' build time and size. The data set and
// queries are bench/query.bench.ts's (bench/query-data.ts). The schema is dropped at the end.
//
//   npm run bench -- query-postgres [--quick]
//   CUTTLE_PG_URL=postgres://... to use another server (default: postgres@127.0.0.1:5432/test)
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { postgresDialect } from '../dist/backends/postgres-query.js';
import { qualified } from '../dist/backends/postgres-sql.js';
import { compileSql } from '../dist/backends/sql-query.js';
import { Store, toQuery, type FindOptions } from '../dist/index.js';
import { PostgresBackend } from '../dist/postgres.js';
import { machine, measure, quick, report, type Measurement } from './harness.js';
import { COUNTED, INDEXED, Item, itemQueries, makeItems } from './query-data.js';

const url = process.env.CUTTLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const n = quick ? 10_000 : 100_000;
const rounds = quick ? 3 : 5;
const names = { schema: `cuttle_qbench_${process.pid}`, table: 'objects' };
const raw = new pg.Pool({ connectionString: url, max: 2 });
console.log(`${machine()}; PostgreSQL ${(await raw.query('SHOW server_version')).rows[0].server_version}; N = ${n}${quick ? ' (--quick)' : ''}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

const backend = new PostgresBackend({ connectionString: url, schema: names.schema, max: 4 });
const store = new Store({ backend });
await store.saveMany(makeItems(n));
const queries = itemQueries(n);
const dialect = postgresDialect(qualified(names).objects);
let statements = 0;

/** The SQL cuttle runs for the rows that match for certain, prepared and run raw, rows parsed as a caller would. */
function rawRunner(options: FindOptions, count: boolean): () => Promise<unknown> {
  const compiled = compileSql(dialect, 'Item', toQuery(options, () => undefined), 1, count)!;
  const statement = { name: `raw query ${statements++}`, text: compiled.sql.exact, values: [...compiled.params] };
  if (count) return async () => (await raw.query(statement)).rows[0].count;
  return async () => (await raw.query(statement)).rows.map((row: { content: string }) => JSON.parse(row.content));
}

async function section(label: string): Promise<Measurement[]> {
  const rows: Measurement[] = [];
  for (const [name, options] of Object.entries(queries)) {
    const ops = label === 'no index' ? 3 : 50;
    rows.push(await measure(`${name}: cuttle find`, ops, () => store.find(Item, options), rounds));
    rows.push(await measure(`${name}: raw pg, same SQL`, ops, rawRunner(options, false), rounds));
  }
  const countOps = label === 'no index' ? 3 : 200;
  rows.push(await measure('count (equality): cuttle count', countOps, () => store.count(Item, COUNTED), rounds));
  rows.push(await measure('count (equality): raw pg, same SQL', countOps, rawRunner(COUNTED, true), rounds));
  return rows;
}

const sizeOf = async () => Number((await raw.query(`SELECT pg_total_relation_size('${qualified(names).objects}') AS size`)).rows[0].size);
try {
  await raw.query(`ANALYZE ${qualified(names).objects}`);
  report(`PostgreSQL, no index (N = ${n})`, await section('no index'));
  const before = await sizeOf();
  const started = performance.now();
  for (const field of INDEXED) await store.index(Item, field);
  const built = performance.now() - started;
  await raw.query(`ANALYZE ${qualified(names).objects}`);
  const grown = (await sizeOf()) - before;
  console.log(`\nindexes on ${INDEXED.join(', ')}: built in ${built.toFixed(0)} ms over ${n} rows; the table and its indexes grew by ${(grown / 1024 / 1024).toFixed(1)} MB (${(grown / n / INDEXED.length).toFixed(0)} bytes per row and path)`);
  report(`PostgreSQL, indexed on ${INDEXED.join(', ')} (N = ${n})`, await section('indexed'));
} finally {
  await store.close();
  await raw.query(`DROP SCHEMA IF EXISTS ${names.schema} CASCADE`);
  await raw.end();
}
