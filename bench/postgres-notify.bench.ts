// What announcing a save costs on PostgreSQL, with raw `pg` (no cuttle code): an upsert alone (the
// ceiling), an upsert followed by a NOTIFY of its own (what PostgresBackend does, less its
// gathering of concurrent saves' NOTIFYs), and a NOTIFY inside the upsert's statement (the
// alternative it does not take). One at a time and 16 in flight, in alternating rounds; each
// figure is the median round. See docs/performance.md, "Where a save's second round trip goes".
//
//   npm run bench -- postgres-notify [--quick]
//   CUTTLE_PG_URL=postgres://... to use another server (default: postgres@127.0.0.1:5432/test)
import { loadavg } from 'node:os';
import pg from 'pg';
import { docId, docJson } from './compare/workload.js';
import { machine, quick } from './harness.js';

const url = process.env.CUTTLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = quick ? 3 : 7;
const pool = new pg.Pool({ connectionString: url, max: 16 });
const schema = `cuttle_notify_bench_${process.pid}`;
await pool.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.objects (type text COLLATE "C", id text COLLATE "C", content text, version int, PRIMARY KEY (type, id))`);
const upsert = `INSERT INTO ${schema}.objects VALUES ($1, $2, $3, 1) ON CONFLICT (type, id) DO UPDATE SET content = excluded.content, version = objects.version + 1 RETURNING version`;
const payload = '{"o":"origin","s":[1],"c":[["Doc","doc-1",2,0]]}';

let next = 0;
const values = () => ['Doc', docId(next), docJson(next++)];
const contenders: Record<string, () => Promise<unknown>> = {
  'upsert alone (the ceiling)': () => pool.query({ name: 'upsert', text: upsert, values: values() }),
  'upsert, then a NOTIFY of its own': async () => {
    await pool.query({ name: 'upsert', text: upsert, values: values() });
    await pool.query({ name: 'notify', text: `SELECT pg_notify('cuttle_notify_bench', $1)`, values: [payload] });
  },
  'NOTIFY inside the upsert': () =>
    pool.query({ name: 'both', text: `WITH w AS (${upsert}) SELECT version, pg_notify('cuttle_notify_bench', $4) FROM w`, values: [...values(), payload] }),
};

async function rate(inFlight: number, total: number, save: () => Promise<unknown>): Promise<number> {
  let left = total;
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (left-- > 0) await save();
  }));
  return total / ((performance.now() - start) / 1000);
}

console.log(`${machine()}; PostgreSQL ${(await pool.query('SHOW server_version')).rows[0].server_version}; load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
const rates = new Map<string, number[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, save] of Object.entries(contenders)) {
    for (const inFlight of [1, 16]) {
      const key = `${name}, ${inFlight} in flight`;
      rates.set(key, [...(rates.get(key) ?? []), await rate(inFlight, inFlight === 1 ? 300 : 1500, save)]);
    }
  }
}
for (const inFlight of [1, 16]) {
  const base = median(rates.get(`upsert alone (the ceiling), ${inFlight} in flight`)!);
  console.log(`\n${inFlight} in flight (saves/s, median of ${ROUNDS} rounds)`);
  for (const name of Object.keys(contenders)) {
    const value = median(rates.get(`${name}, ${inFlight} in flight`)!);
    console.log(`  ${name.padEnd(36)} ${Math.round(value).toLocaleString('en').padStart(7)}  ${(value / base).toFixed(2)}x`);
  }
}
console.log(`\nload average at the end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
await pool.query(`DROP SCHEMA ${schema} CASCADE`);
await pool.end();

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
