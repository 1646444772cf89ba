// cuttle on PostgreSQL against raw pg doing the same work with prepared statements (the ceiling)
// and against keyv + @keyv/postgres (the peer), on ~1 KB JSON documents, N = 5,000, all in one
// run on the machine's server. Each contender has a schema of its own, dropped at the end; rounds
// take the contenders in turn, so a burst of other work on the machine hits all of them alike.
//
//   npm run bench -- postgres [--quick] [--json=results.json]
//   CUTTLE_PG_URL=postgres://... to use another server (default: postgres@127.0.0.1:5432/test)
import KeyvPostgres from '@keyv/postgres';
import Keyv from 'keyv';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import pg from 'pg';
import { Store } from '../dist/index.js';
import { PostgresBackend } from '../dist/postgres.js';
import { machine, quick, report, type Measurement } from './harness.js';
import { BenchDoc } from './sqlite-data.js';

const url = process.env.CUTTLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const n = quick ? 1_000 : 5_000;
/** Saves wait for the commit's flush (synchronous_commit on): fewer of them per round. */
const saveOps = quick ? 200 : 1_000;
const rounds = quick ? 2 : 3;
const inFlight = 16;
const poolSize = 16;
const run = `${process.pid}`;
const admin = new pg.Pool({ connectionString: url, max: 2 });

const sample = JSON.stringify(new BenchDoc('doc-0'));
console.log(`${machine()}; PostgreSQL ${(await admin.query('SHOW server_version')).rows[0].server_version}; N = ${n}${quick ? ' (--quick)' : ''}; documents of ${sample.length} bytes`);
console.log(`synchronous_commit = ${(await admin.query('SHOW synchronous_commit')).rows[0].synchronous_commit}; pools of ${poolSize}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

/** One way of storing the documents. Loads return the decoded document; the harness reads its title. */
interface Contender {
  save(doc: BenchDoc): Promise<unknown>;
  saveMany(docs: BenchDoc[]): Promise<unknown>;
  load(id: string): Promise<{ title: string }>;
  loadMany?(ids: string[]): Promise<Array<{ title: string }>>;
  close(): Promise<unknown>;
}

const schemas: string[] = [];
function schema(name: string): string {
  const s = `cuttle_bench_${name}_${run}`;
  schemas.push(s);
  return s;
}

async function rawPg(): Promise<Contender> {
  const s = schema('raw');
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  await pool.query(`CREATE SCHEMA ${s}; CREATE TABLE ${s}.docs (type text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL, content text NOT NULL, version bigint NOT NULL, updated_at bigint NOT NULL, PRIMARY KEY (type, id))`);
  const upsert = {
    name: 'raw upsert',
    text: `INSERT INTO ${s}.docs AS d VALUES ('Doc', $1, $2, 1, $3) ON CONFLICT (type, id) DO UPDATE SET content = excluded.content, version = d.version + 1, updated_at = excluded.updated_at RETURNING version`,
  };
  const select = { name: 'raw select', text: `SELECT content FROM ${s}.docs WHERE type = 'Doc' AND id = $1` };
  const selectMany = { name: 'raw select many', text: `SELECT id, content FROM ${s}.docs WHERE type = 'Doc' AND id = ANY($1::text[])` };
  return {
    save: (doc) => pool.query({ ...upsert, values: [doc.id, JSON.stringify(doc), Date.now()] }),
    // The multi-row insert: one transaction, statements of 500 rows as VALUES lists.
    async saveMany(docs) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        for (let start = 0; start < docs.length; start += 500) {
          const chunk = docs.slice(start, start + 500);
          const values: unknown[] = [];
          const rows = chunk.map((doc, i) => {
            values.push(doc.id, JSON.stringify(doc), Date.now());
            return `('Doc', $${3 * i + 1}, $${3 * i + 2}, 1, $${3 * i + 3})`;
          });
          await client.query(
            `INSERT INTO ${s}.docs AS d VALUES ${rows.join(', ')} ON CONFLICT (type, id) DO UPDATE SET content = excluded.content, version = d.version + 1, updated_at = excluded.updated_at`,
            values,
          );
        }
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    },
    load: async (id) => JSON.parse((await pool.query({ ...select, values: [id] })).rows[0].content),
    loadMany: async (ids) => (await pool.query({ ...selectMany, values: [ids] })).rows.map((row) => JSON.parse(row.content)),
    close: () => pool.end(),
  };
}

function backendAlone(): Contender {
  const backend = new PostgresBackend({ connectionString: url, schema: schema('backend'), max: poolSize });
  const write = (doc: BenchDoc) => ({ type: 'Doc', id: doc.id, kind: 'object' as const, content: JSON.stringify(doc) });
  return {
    save: (doc) => backend.write(write(doc)),
    saveMany: (docs) => backend.writeMany(docs.map(write)),
    load: async (id) => JSON.parse((await backend.load('Doc', id))!.content),
    loadMany: async (ids) => (await backend.loadMany('Doc', ids)).map((record) => JSON.parse(record!.content)),
    close: () => backend.close(),
  };
}

function cuttleStore(cache: boolean): Contender {
  const store = new Store({ backend: new PostgresBackend({ connectionString: url, schema: schema(cache ? 'store' : 'nocache'), max: poolSize }), cache: cache ? { max: 10_000 } : false });
  return {
    save: (doc) => store.save(doc),
    saveMany: (docs) => store.saveMany(docs),
    load: (id) => store.load(BenchDoc, id),
    close: () => store.close(),
  };
}

async function keyvPostgres(): Promise<Contender> {
  const s = schema('keyv');
  await admin.query(`CREATE SCHEMA ${s}`);
  const keyv = new Keyv({ store: new KeyvPostgres({ uri: url, schema: s, max: poolSize }) });
  keyv.on('error', () => {});
  await keyv.get('warm-up'); // creates the table
  const data = (doc: BenchDoc) => ({ ...doc });
  return {
    save: (doc) => keyv.set(doc.id, data(doc)),
    // keyv.setMany: @keyv/postgres writes one multi-row upsert (unnest), in one statement.
    saveMany: (docs) => keyv.setMany(docs.map((doc) => ({ key: doc.id, value: data(doc) }))),
    load: async (id) => (await keyv.get(id)) as { title: string },
    loadMany: async (ids) => (await keyv.getMany(ids)) as Array<{ title: string }>,
    close: () => keyv.disconnect(),
  };
}

const contenders: Record<string, Contender> = {
  'raw pg (prepared)': await rawPg(),
  'PostgresBackend alone': backendAlone(),
  'cuttle Store (cache: false)': cuttleStore(false),
  'cuttle Store (cache on)': cuttleStore(true),
  'keyv + @keyv/postgres': await keyvPostgres(),
};
const names = Object.keys(contenders);
const RAW = 'raw pg (prepared)';

/** Documents 0..n-1, made before any clock starts. */
const docs = Array.from({ length: n }, (_, i) => new BenchDoc(`doc-${i}`, i));
const ids = docs.map((doc) => doc.id);
let titles = 0;

/** `ops` calls of `fn(i)`, `width` at a time; the seconds they took. */
async function timed(ops: number, width: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < ops) await fn(next++);
    }),
  );
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs `op` on every contender, `rounds` times in turn; the median rate of each, in items/s. */
async function compare(title: string, items: number, op: (c: Contender, round: number) => Promise<number> | undefined, only = names): Promise<Measurement[]> {
  const rates = new Map<string, number[]>(only.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of only) {
      const seconds = await op(contenders[name]!, round);
      if (seconds !== undefined) rates.get(name)!.push(items / seconds);
    }
  }
  const rows = [...rates].filter(([, r]) => r.length > 0).map(([name, r]) => {
    r.sort((a, b) => a - b);
    const median = r[Math.floor(r.length / 2)]!;
    return { name, opsPerSec: median, spread: (r.at(-1)! - r[0]!) / median };
  });
  report(title, rows, RAW);
  results[title] = rows;
  return rows;
}

const results: Record<string, Measurement[]> = {};
const read = (doc: { title: string }) => (titles += doc.title.length);

// Seeding: every contender stores documents 0..n-1 (its own batch write, not measured).
for (const name of names) await contenders[name]!.saveMany(docs);

// Saves update documents already stored (the upsert's update path), a different one each time.
let saved = 0;
await compare(`save, one at a time (${saveOps} per round)`, saveOps, (c) => {
  const base = (saved += saveOps);
  return timed(saveOps, 1, (i) => c.save(docs[(base + i) % n]!));
});
await compare(`save, ${inFlight} in flight (${saveOps * 2} per round)`, saveOps * 2, (c) => {
  const base = (saved += saveOps * 2);
  return timed(saveOps * 2, inFlight, (i) => c.save(docs[(base + i) % n]!));
});
// The cached Store's loads are its warm path; measured below, against keyv's get.
const cold = names.filter((name) => name !== 'cuttle Store (cache on)');
await compare(`load by id, cold, one at a time (${n} per round)`, n, (c) => timed(n, 1, async (i) => read(await c.load(ids[i]!))), cold);
await compare(`load by id, cold, ${inFlight} in flight (${n} per round)`, n, (c) => timed(n, inFlight, async (i) => read(await c.load(ids[i]!))), cold);
await compare(`load by id, warm (the Store's cache; ${n} per round)`, n, (c) => timed(n, 1, async (i) => read(await c.load(ids[i]!))), ['cuttle Store (cache on)', 'keyv + @keyv/postgres', RAW]);
await compare(`batch save, ${n} documents in one call, per document`, n, (c) => timed(1, 1, () => c.saveMany(docs)));

// loadMany of 100 ids in one round trip against the same 100 ids loaded one by one.
const hundred = Array.from({ length: n / 100 }, (_, k) => ids.slice(k * 100, k * 100 + 100));
const many = await compare(`loadMany of 100 ids, per document (${n} per round)`, n, (c) =>
  c.loadMany ? timed(hundred.length, 1, async (k) => (await c.loadMany!(hundred[k]!)).forEach(read)) : undefined,
);
const single = results[`load by id, cold, one at a time (${n} per round)`]!;
console.log('\nloadMany(100 ids) against 100 single loads one at a time:');
for (const row of many) {
  const one = single.find((s) => s.name === row.name);
  if (one) console.log(`  ${row.name.padEnd(42)} ${(row.opsPerSec / one.opsPerSec).toFixed(1)}x`);
}

// The targets, from this run.
const rate = (title: string, name: string) => results[title]?.find((row) => row.name === name)?.opsPerSec ?? NaN;
const titlesOf = Object.keys(results);
const t = (prefix: string) => titlesOf.find((title) => title.startsWith(prefix))!;
const targets: Array<[string, number, number]> = [
  ['save one at a time, backend / raw', rate(t('save, one'), 'PostgresBackend alone') / rate(t('save, one'), RAW), 0.8],
  ['save one at a time, Store / raw', rate(t('save, one'), 'cuttle Store (cache: false)') / rate(t('save, one'), RAW), 0.8],
  [`save ${inFlight} in flight, backend / raw`, rate(t(`save, ${inFlight}`), 'PostgresBackend alone') / rate(t(`save, ${inFlight}`), RAW), 0.8],
  [`save ${inFlight} in flight, Store / raw`, rate(t(`save, ${inFlight}`), 'cuttle Store (cache: false)') / rate(t(`save, ${inFlight}`), RAW), 0.8],
  ['load one at a time, backend / raw', rate(t('load by id, cold, one'), 'PostgresBackend alone') / rate(t('load by id, cold, one'), RAW), 0.8],
  ['load one at a time, Store (cache: false) / raw', rate(t('load by id, cold, one'), 'cuttle Store (cache: false)') / rate(t('load by id, cold, one'), RAW), 0.8],
  [`load ${inFlight} in flight, backend / raw`, rate(t(`load by id, cold, ${inFlight}`), 'PostgresBackend alone') / rate(t(`load by id, cold, ${inFlight}`), RAW), 0.8],
  [`load ${inFlight} in flight, Store (cache: false) / raw`, rate(t(`load by id, cold, ${inFlight}`), 'cuttle Store (cache: false)') / rate(t(`load by id, cold, ${inFlight}`), RAW), 0.8],
  ['batch, backend / raw multi-row insert', rate(t('batch'), 'PostgresBackend alone') / rate(t('batch'), RAW), 0.7],
  ['batch, Store / raw multi-row insert', rate(t('batch'), 'cuttle Store (cache: false)') / rate(t('batch'), RAW), 0.7],
  ['loadMany(100) / 100 single loads, backend', rate(t('loadMany'), 'PostgresBackend alone') / rate(t('load by id, cold, one'), 'PostgresBackend alone'), 5],
  ['warm load (Store cache) / keyv get', rate(t('load by id, warm'), 'cuttle Store (cache on)') / rate(t('load by id, warm'), 'keyv + @keyv/postgres'), 50],
];
for (const [prefix, label] of [['save, one', 'save one at a time'], [`save, ${inFlight}`, `save ${inFlight} in flight`], ['load by id, cold, one', 'load one at a time'], [`load by id, cold, ${inFlight}`, `load ${inFlight} in flight`], ['batch', 'batch']] as const) {
  targets.push([`${label}, Store / keyv (cold: never behind)`, rate(t(prefix), 'cuttle Store (cache: false)') / rate(t(prefix), 'keyv + @keyv/postgres'), 1]);
}
console.log('\ntargets (issue 18), this run:');
for (const [label, ratio, target] of targets) console.log(`  ${label.padEnd(52)} ${ratio.toFixed(2)}x  (target >= ${target}x) ${ratio >= target ? 'met' : 'NOT met'}`);
console.log(`\nload average at end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}; ${titles} title characters read`);

const json = process.argv.find((arg) => arg.startsWith('--json='))?.slice(7);
if (json) writeFileSync(json, JSON.stringify({ machine: machine(), n, saveOps, rounds, inFlight, results, targets }, null, 2) + '\n');

for (const c of Object.values(contenders)) await c.close();
for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
await admin.end();
