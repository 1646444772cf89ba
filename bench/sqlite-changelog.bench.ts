// What the change log costs a SQLite save. Three writers on files of their own, in alternating
// rounds so that a noisy machine slows them alike: raw better-sqlite3 running the backend's upsert
// (the ceiling, no log), SqliteBackend with `changeLog: false`, and SqliteBackend as it is by
// default (the log's row written by a trigger in the save's transaction). Saves one at a time
// (autocommit) and batches of 1,000 (`writeMany`, one transaction). Rates are per second of this
// process's CPU time (user + system): on a shared machine the wall clock also counts the time
// other processes held the cores.
// Usage: npm run bench -- sqlite-changelog [-- --quick]
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteBackend } from '../dist/backends/sqlite.js';
import { migrate } from '../dist/backends/sqlite-schema.js';
import { machine, quick } from './harness.js';
import { documentJson } from './sqlite-data.js';

const SAVES = quick ? 2_000 : 10_000;
const BATCH = 1_000;
const BATCHES = quick ? 5 : 20;
const ROUNDS = quick ? 3 : 7;
const IDS = 20_000;
const UPSERT = `INSERT INTO objects (type, id, kind, content, version, created_at, updated_at) VALUES (?, ?, 'object', ?, 1, ?, ?)
  ON CONFLICT (type, id) DO UPDATE SET kind = excluded.kind, content = excluded.content,
    version = version + 1, updated_at = excluded.updated_at
  RETURNING version`;

const dir = mkdtempSync(join(tmpdir(), 'cuttle-changelog-'));
console.log(`${machine()}; ${SAVES} saves and ${BATCHES} batches of ${BATCH} per round, ${ROUNDS} rounds, rows of ${documentJson(0).length} bytes`);

interface Writer {
  save(i: number): unknown;
  batch(from: number): unknown;
  close(): unknown;
}

function raw(): Writer {
  const file = join(dir, 'raw.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  migrate(db, file);
  const upsert = db.prepare(UPSERT).pluck();
  const one = (i: number) => {
    const now = Date.now();
    return upsert.get('Doc', `d${i % IDS}`, documentJson(i), now, now);
  };
  const many = db.transaction((from: number) => {
    for (let i = from; i < from + BATCH; i++) one(i);
  });
  return { save: one, batch: many, close: () => db.close() };
}

function backend(name: string, changeLog: boolean): Writer {
  const b = new SqliteBackend({ path: join(dir, `${name}.db`), changeLog });
  const write = (i: number) => ({ type: 'Doc', id: `d${i % IDS}`, kind: 'object' as const, content: documentJson(i) });
  return {
    save: (i) => b.write(write(i)),
    batch: (from) => b.writeMany(Array.from({ length: BATCH }, (_, k) => write(from + k))),
    close: () => b.close(),
  };
}

const writers: Record<string, Writer> = {
  'raw better-sqlite3 (no log)': raw(),
  'SqliteBackend, changeLog: false': backend('unlogged', false),
  'SqliteBackend (changeLog on)': backend('logged', true),
};
const rates: Record<string, { saves: number[]; batches: number[] }> = Object.fromEntries(Object.keys(writers).map((name) => [name, { saves: [], batches: [] }]));

async function cpuRate(count: number, fn: () => Promise<void>): Promise<number> {
  const start = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(start);
  return count / ((used.user + used.system) / 1e6);
}

let next = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, writer] of Object.entries(writers)) {
    rates[name]!.saves.push(await cpuRate(SAVES, async () => {
      for (let i = 0; i < SAVES; i++) await writer.save(next++);
    }));
    rates[name]!.batches.push(await cpuRate(BATCH * BATCHES, async () => {
      for (let i = 0; i < BATCHES; i++) await writer.batch((next += BATCH));
    }));
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: number[]) => (Math.max(...values) - Math.min(...values)) / median(values);
const names = Object.keys(writers);
for (const what of ['saves', 'batches'] as const) {
  console.log(`\n${what === 'saves' ? 'save, one at a time (autocommit)' : `writeMany of ${BATCH} (one transaction)`}`);
  const ceiling = median(rates[names[0]!]![what]);
  for (const name of names) {
    const values = rates[name]![what];
    console.log(`  ${name.padEnd(34)} ${Math.round(median(values)).toLocaleString('en').padStart(10)} saves per CPU-second  ±${(spread(values) * 50).toFixed(0)}%  ${(median(values) / ceiling).toFixed(2)}x raw`);
  }
  const off = median(rates[names[1]!]![what]);
  const on = median(rates[names[2]!]![what]);
  console.log(`  the log: ${((off / on - 1) * 100).toFixed(0)}% more CPU time per save (${(on / off).toFixed(2)}x the rate without it)`);
}
for (const writer of Object.values(writers)) await writer.close();
rmSync(dir, { recursive: true, force: true });
