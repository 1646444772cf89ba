// cuttle as a Keyv store (KeyvCuttle over a cuttle Store) against Keyv's own SQLite and
// PostgreSQL stores, through the same Keyv 5 front: set, get (a hit), get of a missing key, and
// setMany, on the same ~1.2 KB JSON value (bench/sqlite-data.ts). Each store is fresh (a temp
// SQLite file, a PostgreSQL schema of its own, dropped at the end); rounds take the contenders in
// turn, so a burst of other work on the machine hits them alike.
//
//   npm run bench -- keyv [--quick] [--no-postgres]
//   CUTTLE_PG_URL=postgres://... for another server (default: postgres@127.0.0.1:5432/test)
import KeyvPostgres from '@keyv/postgres';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SqliteBackend, Store } from '../dist/index.js';
import { KeyvCuttle } from '../dist/keyv.js';
import { PostgresBackend } from '../dist/postgres.js';
import { machine, quick, report, type Measurement } from './harness.js';
import { BenchDoc } from './sqlite-data.js';

const withPostgres = !process.argv.includes('--no-postgres');
const url = process.env.CUTTLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Keys in each store; sets and gets walk them in order. */
const n = quick ? 300 : 2_000;
const rounds = quick ? 2 : 5;
const batch = 100;
const dir = mkdtempSync(join(tmpdir(), 'cuttle-keyv-bench-'));
const schemas: string[] = [];
const admin = withPostgres ? new pg.Pool({ connectionString: url, max: 1 }) : undefined;

const value = new BenchDoc('doc-0');
console.log(`${machine()}; N = ${n} keys, ${rounds} rounds${quick ? ' (--quick)' : ''}; values of ${JSON.stringify(value).length} bytes`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

interface Contender {
  name: string;
  keyv: Keyv;
  close(): Promise<unknown>;
}

function schema(name: string): string {
  const s = `cuttle_keyvbench_${name}_${process.pid}`;
  schemas.push(s);
  return s;
}

function cuttle(name: string, store: Store): Contender {
  return { name, keyv: new Keyv({ store: new KeyvCuttle(store) }), close: () => store.close() };
}

const contenders: Contender[] = [
  cuttle('Keyv + cuttle SQLite', new Store({ backend: new SqliteBackend({ path: join(dir, 'cuttle.db') }) })),
  cuttle('Keyv + cuttle SQLite (cache: false)', new Store({ backend: new SqliteBackend({ path: join(dir, 'cuttle-cold.db') }), cache: false })),
  (() => {
    const keyv = new Keyv({ store: new KeyvSqlite(`sqlite://${join(dir, 'keyv.db')}`) });
    return { name: 'Keyv + @keyv/sqlite', keyv, close: () => keyv.disconnect() };
  })(),
];
if (withPostgres) {
  contenders.push(cuttle('Keyv + cuttle PostgreSQL', new Store({ backend: new PostgresBackend({ connectionString: url, schema: schema('cuttle') }) })));
  const s = schema('keyv');
  const keyv = new Keyv({ store: new KeyvPostgres({ uri: url, schema: s }) });
  contenders.push({ name: 'Keyv + @keyv/postgres', keyv, close: () => keyv.disconnect() });
}
for (const c of contenders) c.keyv.on('error', (error: unknown) => console.error(c.name, error));

/** Times `ops` calls of `fn` on each contender per round; the median rate of the rounds. */
async function compare(title: string, ops: number, fn: (c: Contender, i: number) => Promise<unknown>, baseline: string): Promise<Measurement[]> {
  const rates = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const c of contenders) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < ops; i++) await fn(c, i);
      rates.get(c.name)!.push(ops / (Number(process.hrtime.bigint() - start) / 1e9));
    }
  }
  const rows = contenders.map((c) => {
    const sorted = rates.get(c.name)!.sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return { name: c.name, opsPerSec: median, spread: (sorted.at(-1)! - sorted[0]!) / median };
  });
  report(title, rows, baseline);
  return rows;
}

try {
  // Creates the tables and warms each store.
  for (const c of contenders) {
    await c.keyv.set('warm-up', value);
    await c.keyv.get('warm-up');
  }
  const results: Record<string, Measurement[]> = {};
  results.set = await compare(`set, one at a time (${n} per round)`, n, (c, i) => c.keyv.set(`k${i}`, value), 'Keyv + @keyv/sqlite');
  results.get = await compare(`get, a stored key (${n} per round)`, n, (c, i) => c.keyv.get(`k${i}`), 'Keyv + @keyv/sqlite');
  results.miss = await compare(`get, a missing key (${n} per round)`, n, (c, i) => c.keyv.get(`missing${i}`), 'Keyv + @keyv/sqlite');
  const batches = Math.max(1, n / batch / 4);
  results.setMany = await compare(`setMany of ${batch} (${batches} per round)`, batches, (c, i) =>
    c.keyv.setMany(Array.from({ length: batch }, (_, j) => ({ key: `b${i}-${j}`, value }))), 'Keyv + @keyv/sqlite');
  if (withPostgres) {
    console.log('\nagainst @keyv/postgres:');
    for (const [op, rows] of Object.entries(results)) {
      const ours = rows.find((row) => row.name === 'Keyv + cuttle PostgreSQL')!;
      const theirs = rows.find((row) => row.name === 'Keyv + @keyv/postgres')!;
      console.log(`  ${op.padEnd(8)} cuttle PostgreSQL ${(ours.opsPerSec / theirs.opsPerSec).toFixed(2)}x @keyv/postgres`);
    }
  }
  console.log(`\nload average at end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
} finally {
  for (const c of contenders) await c.close();
  for (const s of schemas) await admin!.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin?.end();
  rmSync(dir, { recursive: true, force: true });
}
