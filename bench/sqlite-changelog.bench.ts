// What the change log costs a SQLite save: the backend's own upsert statement through raw
// better-sqlite3 on two files of the current schema, one with the change log's triggers (as every
// writing SqliteBackend connection has them) and one without, measured in alternating rounds so
// that a noisy machine slows both alike. Autocommit saves one at a time, and batches of 1,000 in
// one transaction.
// Usage: npm run bench -- sqlite-changelog [-- --quick]
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteChangeLog } from '../src/backends/sqlite-changes.js';
import { migrate } from '../src/backends/sqlite-schema.js';
import { machine, quick } from './harness.js';
import { documentJson } from './sqlite-data.js';

const SAVES = quick ? 2_000 : 10_000;
const BATCH = 1_000;
const BATCHES = quick ? 5 : 20;
const ROUNDS = quick ? 3 : 7;
const UPSERT = `INSERT INTO objects (type, id, kind, content, version, created_at, updated_at) VALUES (?, ?, 'object', ?, 1, ?, ?)
  ON CONFLICT (type, id) DO UPDATE SET kind = excluded.kind, content = excluded.content,
    version = version + 1, updated_at = excluded.updated_at
  RETURNING version`;

const dir = mkdtempSync(join(tmpdir(), 'cuttle-changelog-'));
console.log(`${machine()}; ${SAVES} saves and ${BATCHES} batches of ${BATCH} per round, ${ROUNDS} rounds, rows of ${documentJson(0).length} bytes`);

function open(name: string, logged: boolean) {
  const file = join(dir, `${name}.db`);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrate(db, file);
  const log = logged ? new SqliteChangeLog(db, 'bench', true, { keepRows: 10_000, keepMs: 0, now: Date.now }) : undefined;
  const upsert = db.prepare(UPSERT).pluck();
  let counter = 0;
  const save = () => {
    const now = Date.now();
    upsert.get('Doc', `d${counter % 20_000}`, documentJson(counter++), now, now);
    log?.wrote();
  };
  const batch = db.transaction(() => {
    for (let i = 0; i < BATCH; i++) save();
  });
  return { db, save, batch };
}

const stores = { 'without the log': open('plain', false), 'with the log': open('logged', true) };
const rates: Record<string, { saves: number[]; batches: number[] }> = { 'without the log': { saves: [], batches: [] }, 'with the log': { saves: [], batches: [] } };
const rate = (count: number, fn: () => void) => {
  const start = process.hrtime.bigint();
  fn();
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, store] of Object.entries(stores)) {
    rates[name]!.saves.push(rate(SAVES, () => { for (let i = 0; i < SAVES; i++) store.save(); }));
    rates[name]!.batches.push(rate(BATCH * BATCHES, () => { for (let i = 0; i < BATCHES; i++) store.batch(); }));
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: number[]) => (Math.max(...values) - Math.min(...values)) / median(values);
for (const what of ['saves', 'batches'] as const) {
  console.log(`\n${what === 'saves' ? 'save, one at a time (autocommit)' : `saves in batches of ${BATCH} (one transaction each)`}`);
  for (const name of Object.keys(stores)) {
    const values = rates[name]![what];
    console.log(`  ${name.padEnd(18)} ${Math.round(median(values)).toLocaleString('en').padStart(10)} saves/s  ±${(spread(values) * 50).toFixed(0)}%`);
  }
  const plain = median(rates['without the log']![what]);
  const logged = median(rates['with the log']![what]);
  console.log(`  the log costs ${((plain / logged - 1) * 100).toFixed(0)}% more time per save (${(logged / plain).toFixed(2)}x the rate without it)`);
}
for (const store of Object.values(stores)) store.db.close();
rmSync(dir, { recursive: true, force: true });
