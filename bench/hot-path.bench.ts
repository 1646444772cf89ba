// Where a SQLite save and a cold load spend their time (issue #16): the harness's document
// (bench/compare/workload.ts, ~1.3 KB with a Date) through each layer in turn, in CPU microseconds
// per operation (user + system time of this process: on a shared machine the wall clock also counts
// the time other processes held the cores). Layers, each on a file of its own:
//
//   raw             what the harness's ceiling does: JSON.stringify + INSERT OR REPLACE / SELECT + JSON.parse
//   SQL             cuttle's own statement on cuttle's schema through better-sqlite3, content ready-made
//                   (saves: without and with the change log's trigger)
//   codec           Codec.encode / Codec.decode alone, no I/O
//   backend         SqliteBackend.write / .load with the content ready-made (SQL + the backend's JS)
//   Store           Store.save / Store.load(..., { cache: false }): codec + backend + the Store's bookkeeping
//
// Saves write new ids, one at a time (autocommit), as the harness's `save` does; batches write
// 1,000 new ids in one transaction (the harness's `saveMany`), counted per document; loads read
// random seeded ids. Every layer runs once per round, rounds alternate; each figure is the median round.
//
//   npm run bench -- hot-path [--quick]
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteBackend } from '../dist/backends/sqlite.js';
import { SqliteChangeLog } from '../dist/backends/sqlite-changes.js';
import { migrate } from '../dist/backends/sqlite-schema.js';
import { Codec } from '../dist/codec.js';
import { Store, TypeRegistry } from '../dist/index.js';
import { quick, machine } from './harness.js';
import { docData, docId, revive, TYPE, WorkDoc } from './compare/workload.js';

const SEEDED = 10_000;
const OPS = quick ? 2_000 : 5_000;
const ROUNDS = quick ? 3 : 7;
const dir = mkdtempSync(join(tmpdir(), 'cuttle-hot-path-'));
const file = (name: string) => join(dir, `${name}.db`);

const registry = new TypeRegistry();
const codec = new Codec(registry);
const info = registry.register(WorkDoc);
const encoded = (i: number) => codec.encode(new WorkDoc(docId(i), i), info);
/** Document numbers for the saves: past the seeded ones, new in every round. */
let next = SEEDED;

const UPSERT = `INSERT INTO objects (type, id, kind, content, version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)
  ON CONFLICT (type, id) DO UPDATE SET kind = excluded.kind, content = excluded.content,
    version = version + 1, updated_at = excluded.updated_at
  RETURNING version`;
const LOAD = `SELECT kind, content, version, updated_at FROM objects WHERE type = ? AND id = ?`;

function openDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}

function seedCuttleSchema(db: Database.Database, path: string): void {
  migrate(db, path);
  const put = db.prepare(`INSERT INTO objects VALUES (?, ?, 'object', ?, 1, 0, 0)`);
  db.transaction(() => {
    for (let i = 0; i < SEEDED; i++) put.run(TYPE, docId(i), encoded(i));
  })();
}

/** One layer: what one operation costs, given the input made (outside the clock) for it. */
interface Layer<I> {
  name: string;
  input(i: number): I;
  run(input: I): unknown;
}

type Inputs = { id: string; i: number; doc: WorkDoc; content: string; data: ReturnType<typeof docData> };

// --- the layers, each with its own file ---
const rawDb = openDb(file('raw'));
rawDb.exec('CREATE TABLE docs (type TEXT NOT NULL, id TEXT NOT NULL, content TEXT NOT NULL, PRIMARY KEY (type, id))');
const rawInsert = rawDb.prepare('INSERT OR REPLACE INTO docs (type, id, content) VALUES (?, ?, ?)');
const rawSelect = rawDb.prepare('SELECT content FROM docs WHERE type = ? AND id = ?').pluck();
rawDb.transaction(() => {
  for (let i = 0; i < SEEDED; i++) rawInsert.run(TYPE, docId(i), JSON.stringify(docData(i)));
})();

function sqlLayer(name: string, logged: boolean): { db: Database.Database; upsert: Database.Statement; load: Database.Statement } {
  const db = openDb(file(name));
  seedCuttleSchema(db, file(name));
  // The trigger exactly as a backend makes it (its constructor creates it on this connection).
  if (logged) new SqliteChangeLog(db, '0123456789abcdef', true, { logged: true, keepRows: 10_000, keepMs: 0, now: Date.now });
  return { db, upsert: db.prepare(UPSERT).pluck(), load: db.prepare(LOAD).raw() };
}
const sqlBare = sqlLayer('sql-bare', false);
const sqlLogged = sqlLayer('sql-logged', true);

function seededBackend(name: string, changeLog = true): SqliteBackend {
  const db = openDb(file(name));
  seedCuttleSchema(db, file(name));
  db.close();
  return new SqliteBackend({ path: file(name), changeLog });
}
const backend = seededBackend('backend');
const store = new Store({ backend: seededBackend('store') });
// The two costs a user could choose not to pay, each alone: the change log, and caching what is saved.
const unlogged = new Store({ backend: seededBackend('store-unlogged', false) });
const uncached = new Store({ backend: seededBackend('store-uncached'), cache: false });
for (const each of [store, unlogged, uncached]) each.register(WorkDoc);

const saveInputs = (i: number): Inputs => {
  const n = next++;
  return { id: docId(n), i: n, doc: new WorkDoc(docId(n), n), content: encoded(n), data: docData(n) };
};
const loadInputs = (): Inputs => {
  const n = Math.floor(Math.random() * SEEDED);
  return { id: docId(n), i: n, doc: undefined as never, content: encoded(n), data: undefined as never };
};

const saves: Layer<Inputs>[] = [
  { name: 'raw: JSON.stringify + INSERT OR REPLACE', input: saveInputs, run: (x) => rawInsert.run(TYPE, x.id, JSON.stringify(x.data)) },
  { name: 'SQL: cuttle upsert, no log', input: saveInputs, run: (x) => sqlBare.upsert.get(TYPE, x.id, 'object', x.content, Date.now(), Date.now()) },
  { name: 'SQL: cuttle upsert + change-log trigger', input: saveInputs, run: (x) => sqlLogged.upsert.get(TYPE, x.id, 'object', x.content, Date.now(), Date.now()) },
  { name: 'codec: encode', input: saveInputs, run: (x) => codec.encode(x.doc, info) },
  { name: 'backend: SqliteBackend.write', input: saveInputs, run: (x) => backend.write({ type: TYPE, id: x.id, kind: 'object', content: x.content }) },
  { name: 'Store: save', input: saveInputs, run: (x) => store.save(x.doc) },
  { name: 'Store: save, changeLog: false', input: saveInputs, run: (x) => unlogged.save(x.doc) },
  { name: 'Store: save, cache: false', input: saveInputs, run: (x) => uncached.save(x.doc) },
];
const BATCH = 1_000;
type Batch = Inputs[];
const batchInputs = (): Batch => Array.from({ length: BATCH }, (_, i) => saveInputs(i));
const rawBatch = rawDb.transaction((batch: Batch) => {
  for (const x of batch) rawInsert.run(TYPE, x.id, JSON.stringify(x.data));
});
const sqlBatch = sqlLogged.db.transaction((batch: Batch) => {
  const now = Date.now();
  for (const x of batch) sqlLogged.upsert.get(TYPE, x.id, 'object', x.content, now, now);
});
const batches: Layer<Batch>[] = [
  { name: 'raw: JSON.stringify + INSERT, one transaction', input: batchInputs, run: rawBatch },
  { name: 'SQL: cuttle upsert + trigger, one transaction', input: batchInputs, run: sqlBatch },
  { name: 'codec: encode', input: batchInputs, run: (batch) => batch.forEach((x) => codec.encode(x.doc, info)) },
  { name: 'backend: SqliteBackend.writeMany', input: batchInputs, run: (batch) => backend.writeMany(batch.map((x) => ({ type: TYPE, id: x.id, kind: 'object' as const, content: x.content }))) },
  { name: 'Store: saveMany', input: batchInputs, run: (batch) => store.saveMany(batch.map((x) => x.doc)) },
  { name: 'Store: saveMany, changeLog: false', input: batchInputs, run: (batch) => unlogged.saveMany(batch.map((x) => x.doc)) },
  { name: 'Store: saveMany, cache: false', input: batchInputs, run: (batch) => uncached.saveMany(batch.map((x) => x.doc)) },
];
const loads: Layer<Inputs>[] = [
  { name: 'raw: SELECT + JSON.parse + Date', input: loadInputs, run: (x) => revive(JSON.parse(rawSelect.get(TYPE, x.id) as string)) },
  { name: 'SQL: cuttle load statement', input: loadInputs, run: (x) => sqlBare.load.get(TYPE, x.id) },
  { name: 'codec: decode', input: loadInputs, run: (x) => codec.decode(x.content, info, x.id) },
  { name: 'backend: SqliteBackend.load', input: loadInputs, run: (x) => backend.load(TYPE, x.id) },
  { name: 'Store: load, cache: false', input: loadInputs, run: (x) => store.load(WorkDoc, x.id, { cache: false }) },
];

/**
 * CPU microseconds per operation of each layer (per document for a batch: `per` documents an
 * input), one median over the rounds.
 */
async function measure<I>(layers: Layer<I>[], ops = OPS, per = 1): Promise<Map<string, { median: number; spread: number }>> {
  const rounds = new Map<string, number[]>(layers.map((layer) => [layer.name, []]));
  for (let round = -1; round < ROUNDS; round++) {
    for (const layer of layers) {
      const inputs = Array.from({ length: round < 0 ? Math.ceil(ops / 10) : ops }, (_, i) => layer.input(i));
      globalThis.gc?.();
      const before = process.cpuUsage();
      for (const input of inputs) {
        const result = layer.run(input);
        if (result instanceof Promise) await result;
      }
      const used = process.cpuUsage(before);
      // Round -1 warms the code paths up; it is not counted.
      if (round >= 0) rounds.get(layer.name)!.push((used.user + used.system) / (inputs.length * per));
    }
  }
  return new Map(
    [...rounds].map(([name, values]) => {
      values.sort((a, b) => a - b);
      const median = values[Math.floor(values.length / 2)]!;
      return [name, { median, spread: (values.at(-1)! - values[0]!) / median }];
    }),
  );
}

function print(title: string, results: Map<string, { median: number; spread: number }>, raw: string, ops = OPS): void {
  const base = results.get(raw)!.median;
  console.log(`\n${title} (CPU µs per ${ops === OPS ? 'operation' : 'document'}, median of ${ROUNDS} rounds of ${ops})`);
  for (const [name, { median, spread }] of results) {
    console.log(`  ${name.padEnd(44)} ${median.toFixed(1).padStart(7)} µs  ±${(spread * 50).toFixed(0).padStart(2)}%  ${(base / median).toFixed(2)}x raw`);
  }
}

console.log(`${machine()}; ${SEEDED.toLocaleString('en')} seeded documents of ${encoded(0).length} bytes; load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
const saved = await measure(saves);
print('save, one at a time', saved, saves[0]!.name);
const batched = await measure(batches, Math.max(1, OPS / BATCH), BATCH);
print('batch of 1,000 in one transaction', batched, batches[0]!.name, Math.max(1, OPS / BATCH) * BATCH);
const loaded = await measure(loads);
print('cold load', loaded, loads[0]!.name);

const us = (results: Map<string, { median: number }>, name: string) => results.get(name)!.median;
const saveStore = us(saved, 'Store: save');
const saveBackend = us(saved, 'backend: SqliteBackend.write');
const loadStore = us(loaded, 'Store: load, cache: false');
const loadBackend = us(loaded, 'backend: SqliteBackend.load');
console.log('\nwhere a Store operation goes (µs): SQL | backend JS | codec | Store bookkeeping = total');
const row = (name: string, sql: number, backendUs: number, codecUs: number, total: number) =>
  console.log(`  ${name.padEnd(6)} ${sql.toFixed(1)} | ${(backendUs - sql).toFixed(1)} | ${codecUs.toFixed(1)} | ${(total - backendUs - codecUs).toFixed(1)} = ${total.toFixed(1)}`);
row('save', us(saved, 'SQL: cuttle upsert + change-log trigger'), saveBackend, us(saved, 'codec: encode'), saveStore);
row('batch', us(batched, 'SQL: cuttle upsert + trigger, one transaction'), us(batched, 'backend: SqliteBackend.writeMany'), us(batched, 'codec: encode'), us(batched, 'Store: saveMany'));
row('load', us(loaded, 'SQL: cuttle load statement'), loadBackend, us(loaded, 'codec: decode'), loadStore);
console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

for (const each of [store, unlogged, uncached]) await each.close();
await backend.close();
for (const db of [rawDb, sqlBare.db, sqlLogged.db]) db.close();
rmSync(dir, { recursive: true, force: true });
