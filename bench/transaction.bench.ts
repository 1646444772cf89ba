// What a transaction costs: two saves of ~1 KB documents in one store.transaction against the
// same two saves one after the other (each its own commit), and a saveMany of both (one atomic
// batch), on SQLite (a file, WAL) and PostgreSQL (the machine's server; SERIALIZABLE and REPEATABLE
// READ, in the order A-B-B-A), through a Store with its cache off. One process, one at a time: no
// contention.
//
//   npm run bench -- transaction [--quick]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SqliteBackend } from '../dist/backends/sqlite.js';
import { Store, type StorageBackend } from '../dist/index.js';
import { PostgresBackend, type PostgresIsolation } from '../dist/postgres.js';
import { machine, measure, quick, report, type Measurement } from './harness.js';
import { BenchDoc } from './sqlite-data.js';

const url = process.env.CUTTLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const sqliteOps = quick ? 2_000 : 10_000;
const pgOps = quick ? 300 : 1_000;
console.log(`${machine()}; documents of ${JSON.stringify(new BenchDoc('doc-0')).length} bytes; load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

/** The three ways of saving a pair, measured on `store`. */
async function pairs(store: Store, ops: number, label: string): Promise<Measurement[]> {
  const a = new BenchDoc('a');
  const b = new BenchDoc('b');
  return [
    await measure(`${label}: two saves`, ops, async () => {
      await store.save(a);
      await store.save(b);
    }),
    await measure(`${label}: saveMany([a, b])`, ops, () => store.saveMany([a, b])),
    await measure(`${label}: transaction of two saves`, ops, () =>
      store.transaction(async (tx) => {
        await tx.save(a);
        await tx.save(b);
      }),
    ),
    await measure(`${label}: transaction, load + save x2`, ops, () =>
      store.transaction(async (tx) => {
        const x = await tx.load(BenchDoc, 'a');
        const y = await tx.load(BenchDoc, 'b');
        await tx.save(x);
        await tx.save(y);
      }),
    ),
  ];
}

const dir = mkdtempSync(join(tmpdir(), 'cuttle-txbench-'));
try {
  const sqlite = new Store({ backend: new SqliteBackend({ path: join(dir, 'tx.db') }), cache: false });
  const rows = await pairs(sqlite, sqliteOps, 'SQLite');
  await sqlite.close();
  report('SQLite (file, WAL, synchronous NORMAL)', rows, 'SQLite: two saves');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const admin = new pg.Pool({ connectionString: url, max: 1 });
const schemas: string[] = [];
try {
  // A-B-B-A: whichever runs first also warms the server up, so each level runs once early and once late.
  for (const isolation of ['serializable', 'repeatable read', 'repeatable read', 'serializable'] as PostgresIsolation[]) {
    const schema = `cuttle_txbench_${process.pid}_${schemas.length}`;
    schemas.push(schema);
    const backend: StorageBackend = new PostgresBackend({ connectionString: url, schema, isolation });
    const store = new Store({ backend, cache: false });
    const rows = await pairs(store, pgOps, `PostgreSQL ${isolation}`);
    await store.close();
    report(`PostgreSQL, isolation ${isolation}`, rows, `PostgreSQL ${isolation}: two saves`);
  }
} finally {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}
