// Queries at N = 100,000 on SQLite: equality, range, a sorted top-20 and a count, with and without
// an index, against raw better-sqlite3 running the very SQL cuttle compiles (the ceiling), nedb
// (the peer: in memory, with its indexes on the same fields) and a JavaScript filter over an array
// in memory; the memory backend without and with its in-memory indexes; the index's build time and size.
//
//   npm run bench -- query [--quick | --n=1000000]
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteBackend } from '../dist/backends/sqlite.js';
import { compileQuery } from '../dist/backends/sqlite-query.js';
import { InMemoryBackend, Store, toQuery, type FindOptions } from '../dist/index.js';
import { machine, measure, quick, report, type Measurement } from './harness.js';
import { COUNTED, INDEXED, Item, itemQueries, makeItems, rangeEnd } from './query-data.js';

// nedb is CommonJS and its types declare a default export its module.exports does not have.
const Datastore = createRequire(import.meta.url)('@seald-io/nedb') as typeof import('@seald-io/nedb').default;

const sized = process.argv.find((arg) => arg.startsWith('--n='));
const n = sized !== undefined ? Number(sized.slice(4)) : quick ? 10_000 : 100_000;
if (!Number.isInteger(n) || n < 1000) throw new Error(`--n= takes a whole number of items, at least 1000; got ${sized}`);
const rounds = quick ? 3 : 5;
/** At a million rows a query without an index takes seconds: fewer of them are timed. */
const scanOps = n >= 1_000_000 ? 1 : 5;
const dir = mkdtempSync(join(tmpdir(), 'cuttle-qbench-'));
console.log(`${machine()}; N = ${n}${quick ? ' (--quick)' : ''}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

const items = makeItems(n);
const plain = items.map((item) => ({ id: item.id, category: item.category, price: item.price, title: item.title, done: item.done, tags: item.tags }));

const RANGE_END = rangeEnd(n);
const queries = itemQueries(n);
const jsFilters: Record<string, () => unknown> = {
  'equality (100 of N)': () => plain.filter((item) => item.category === 421),
  'range (~100 of N)': () => plain.filter((item) => item.price >= 500 && item.price < RANGE_END),
  'sorted top-20 (done, by price)': () => plain.filter((item) => item.done).sort((a, b) => b.price - a.price || (a.id < b.id ? -1 : 1)).slice(0, 20),
  'count (equality)': () => plain.filter((item) => item.category === 421).length,
};

const path = join(dir, 'q.db');
const backend = new SqliteBackend({ path });
const store = new Store({ backend });
await store.saveMany(items);
const raw = new Database(path, { readonly: true });
const refOf = () => undefined;

/**
 * The SQL cuttle runs for the rows that match for certain, run raw, rows parsed as a caller would:
 * the items hold no value annotated at the paths queried, so cuttle runs the plain form.
 */
function rawRunner(options: FindOptions, count: boolean): () => unknown {
  const compiled = compileQuery('Item', toQuery(options, refOf), 1, count)!;
  if (raw.prepare(compiled.sql.unchecked).get() !== undefined) throw new Error(`the bench's items are annotated at a path of ${JSON.stringify(options)}`);
  const statement = raw.prepare(compiled.sql.plain);
  if (count) return () => statement.pluck().get(...compiled.params);
  return () => (statement.all(...compiled.params) as Array<{ content: string }>).map((row) => JSON.parse(row.content));
}

async function section(label: string): Promise<Measurement[]> {
  const rows: Measurement[] = [];
  for (const [name, options] of Object.entries(queries)) {
    const ops = label === 'no index' ? scanOps : 500;
    rows.push(await measure(`${name}: cuttle find`, ops, () => store.find(Item, options), rounds));
    rows.push(await measure(`${name}: raw better-sqlite3, same SQL`, ops, rawRunner(options, false), rounds));
  }
  const countOps = label === 'no index' ? scanOps : 5000;
  rows.push(await measure('count (equality): cuttle count', countOps, () => store.count(Item, COUNTED), rounds));
  rows.push(await measure('count (equality): raw better-sqlite3, same SQL', countOps, rawRunner(COUNTED, true), rounds));
  return rows;
}

const results: Record<string, Measurement[]> = {};
results['SQLite, no index'] = await section('no index');
report(`SQLite, no index (N = ${n})`, results['SQLite, no index']);

const sizeOf = () => (raw.pragma('page_count', { simple: true }) as number) * (raw.pragma('page_size', { simple: true }) as number);
const before = sizeOf();
const started = performance.now();
for (const field of INDEXED) await store.index(Item, field);
const built = performance.now() - started;
const after = sizeOf();
console.log(`\nindexes on category, price, done: built in ${built.toFixed(0)} ms over ${n} rows; the file grew by ${((after - before) / 1024 / 1024).toFixed(1)} MB (${((after - before) / n / 3).toFixed(0)} bytes per row and path, all five indexes of a path: number, string, annotated rows, and a sort in each direction)`);

results['SQLite, indexed'] = await section('indexed');
report(`SQLite, indexed on category, price, done (N = ${n})`, results['SQLite, indexed']);

const js: Measurement[] = [];
for (const [name, filter] of Object.entries(jsFilters)) js.push(await measure(`${name}: JS filter over an array`, name.startsWith('sorted') ? 10 : 100, filter, rounds));
report(`A JavaScript filter over ${n} plain objects in an array`, js);

// nedb keeps every document in memory and answers from its indexes; its find returns copies.
const nedb = new Datastore();
await nedb.insertAsync(plain.map(({ id, ...fields }) => ({ _id: id, ...fields })));
for (const fieldName of INDEXED) await nedb.ensureIndexAsync({ fieldName });
const nedbQueries: Record<string, () => Promise<unknown>> = {
  'equality (100 of N)': () => nedb.findAsync({ category: 421 }).execAsync(),
  'range (~100 of N)': () => nedb.findAsync({ price: { $gte: 500, $lt: RANGE_END } }).execAsync(),
  'sorted top-20 (done, by price)': () => nedb.findAsync({ done: true }).sort({ price: -1, _id: 1 }).limit(20).execAsync(),
  'count (equality)': () => nedb.countAsync({ category: 421 }).execAsync(),
};
const peers: Measurement[] = [];
for (const [name, run] of Object.entries(nedbQueries)) peers.push(await measure(`${name}: nedb, indexed`, name.startsWith('sorted') ? 5 : 1000, run, rounds));
report(`nedb in memory, indexed on category, price, done (N = ${n})`, peers);

// The memory backend: first without an index (every record judged, on JSON parsed once and kept:
// the first query pays the parse), then with indexes on the fields nedb indexes.
const memory = new Store({ backend: new InMemoryBackend() });
await memory.saveMany(items);
const firstStarted = performance.now();
await memory.find(Item, queries['equality (100 of N)']!);
console.log(`\nmemory backend: the first query (which parses every record once) took ${(performance.now() - firstStarted).toFixed(0)} ms`);
async function memorySection(label: string, ops: number): Promise<Measurement[]> {
  const rows: Measurement[] = [];
  for (const [name, options] of Object.entries(queries)) {
    rows.push(await measure(`${name}: memory backend, ${label}`, name.startsWith('sorted') ? 10 : ops, () => memory.find(Item, options), rounds));
  }
  rows.push(await measure(`count (equality): memory backend, ${label}`, ops, () => memory.count(Item, COUNTED), rounds));
  return rows;
}
results['memory, no index'] = await memorySection('no index', 5);
report(`The memory backend without an index (N = ${n})`, results['memory, no index']);
const memoryStarted = performance.now();
for (const field of INDEXED) await memory.index(Item, field);
console.log(`\nmemory backend: indexes on category, price, done built in ${(performance.now() - memoryStarted).toFixed(0)} ms over ${n} records`);
results['memory, indexed'] = await memorySection('indexed', 200);
report(`The memory backend, indexed on category, price, done (N = ${n})`, results['memory, indexed']);

console.log('\nSQLite: cuttle against raw better-sqlite3 running the same SQL, and against nedb (indexed), same run (ops/s ratios)');
for (const name of Object.keys(jsFilters)) {
  const rate = (rows: Measurement[], who: string) => rows.find((row) => row.name.startsWith(`${name}: ${who}`))!.opsPerSec;
  const against = (label: string) => (rate(results[label]!, 'cuttle') / rate(results[label]!, 'raw')).toFixed(2);
  const nedbRatio = (rate(results['SQLite, indexed']!, 'cuttle') / rate(peers, 'nedb')).toFixed(2);
  console.log(`  ${name.padEnd(32)} indexed ${against('SQLite, indexed')}x raw, ${nedbRatio}x nedb; no index ${against('SQLite, no index')}x raw`);
}

console.log('\nThe memory backend against nedb (indexed) and a JS filter, same run (ops/s ratios)');
for (const name of Object.keys(jsFilters)) {
  const rate = (rows: Measurement[]) => rows.find((row) => row.name.startsWith(`${name}:`))!.opsPerSec;
  const ratios = (rows: Measurement[]) => `${(rate(rows) / rate(peers)).toFixed(2)}x nedb, ${(rate(rows) / rate(js)).toFixed(2)}x JS filter`;
  console.log(`  ${name.padEnd(32)} indexed ${ratios(results['memory, indexed'])}; no index ${ratios(results['memory, no index'])}`);
}
await memory.close();

await store.close();
raw.close();
rmSync(dir, { recursive: true, force: true });
