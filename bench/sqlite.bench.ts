// cuttle on SQLite against raw better-sqlite3 doing the same work, and against keyv + @keyv/sqlite,
// on ~1 KB JSON documents, all in one run. Then the measurements behind the reader pool: what a
// pool or a worker thread costs a load, and what a reader thread buys an export.
//
//   npm run bench -- sqlite [--quick] [--json=results.json]
import KeyvSqlite from '@keyv/sqlite';
import Database from 'better-sqlite3';
import { createPool } from 'generic-pool';
import Keyv from 'keyv';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { SqliteBackend } from '../dist/backends/sqlite.js';
import { Codec } from '../dist/codec.js';
import { Store, TypeRegistry, type StoredRecord } from '../dist/index.js';
import { NullBackend } from './null-backend.js';
import { machine, measure, quick, report, type Measurement } from './harness.js';
import { BenchDoc } from './sqlite-data.js';

const n = quick ? 10_000 : 100_000;
const keyvOps = quick ? 1_000 : 5_000;
const rounds = quick ? 3 : 5;
const dir = mkdtempSync(join(tmpdir(), 'cuttle-bench-'));
const results: Record<string, Measurement[]> = {};
let files = 0;
const newFile = () => join(dir, `db-${files++}.db`);
console.log(`${machine()}; N = ${n}${quick ? ' (--quick)' : ''}; documents of ${JSON.stringify(new BenchDoc('doc-0')).length} bytes`);
// Other work on the machine skews every figure; the load average tells whether there was any.
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

/** One way of storing the documents: raw driver, cuttle's backend alone, cuttle's Store. */
interface Contender {
  save(doc: BenchDoc): unknown;
  saveMany(docs: BenchDoc[]): unknown;
  load(id: string): unknown;
  close(): unknown;
}

const contenders: Record<string, (path: string) => Contender> = {
  'raw better-sqlite3': (path) => {
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE docs (type TEXT NOT NULL, id TEXT NOT NULL, content TEXT NOT NULL, PRIMARY KEY (type, id))');
    const insert = db.prepare('INSERT INTO docs (type, id, content) VALUES (?, ?, ?)');
    const select = db.prepare('SELECT content FROM docs WHERE type = ? AND id = ?').pluck();
    const save = (doc: BenchDoc) => insert.run('Doc', doc.id, JSON.stringify(doc));
    const batch = db.transaction((docs: BenchDoc[]) => docs.forEach(save));
    return { save, saveMany: batch, load: (id) => JSON.parse(select.get('Doc', id) as string), close: () => db.close() };
  },
  'SqliteBackend alone': (path) => {
    const backend = new SqliteBackend({ path });
    const write = (doc: BenchDoc) => ({ type: 'Doc', id: doc.id, kind: 'object' as const, content: JSON.stringify(doc) });
    return {
      save: (doc) => backend.write(write(doc)),
      saveMany: (docs) => backend.writeMany(docs.map(write)),
      load: async (id) => JSON.parse((await backend.load('Doc', id))!.content),
      close: () => backend.close(),
    };
  },
  'cuttle Store (cache: false)': (path) => {
    const store = new Store({ backend: new SqliteBackend({ path }), cache: false });
    return {
      save: (doc) => store.save(doc),
      saveMany: (docs) => store.saveMany(docs),
      load: (id) => store.load(BenchDoc, id),
      close: () => store.close(),
    };
  },
};

/** Documents with fresh ids, built before any clock starts. */
let nextId = 0;
const docs = (count: number) => Array.from({ length: count }, () => new BenchDoc(`doc-${nextId++}`, nextId));

function rate(name: string, count: number, seconds: number[]): Measurement {
  const rates = seconds.map((s) => count / s).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  return { name, opsPerSec: median, spread: (rates.at(-1)! - rates[0]!) / median };
}

async function seconds(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Runs `one(name, round)` (which returns ops/s) round by round, each round over every contender
 * in turn, so that no contender gains from running first or last. */
async function interleaved(names: string[], one: (name: string) => Promise<number>): Promise<Measurement[]> {
  const rates = new Map(names.map((name) => [name, [] as number[]]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) rates.get(name)!.push(await one(name));
  }
  return names.map((name) => rate(name, 1, rates.get(name)!.map((ops) => 1 / ops)));
}

// Saves one at a time (each its own transaction), then random loads from the same files, then
// one transaction of N documents into a new file each round.
const names = Object.keys(contenders);
const perRound = Math.ceil(n / rounds);
const opened = new Map(names.map((name) => {
  const path = newFile();
  const pending = docs((perRound + 1000) * rounds);
  return [name, { path, contender: contenders[name]!(path), pending, first: nextId - pending.length }];
}));
const saves = await interleaved(names, async (name) => {
  const { contender, pending } = opened.get(name)!;
  return (await measure(name, perRound, () => contender.save(pending.pop()!), 1)).opsPerSec;
});
const loads = await interleaved(names, async (name) => {
  const { contender, first } = opened.get(name)!;
  return (await measure(name, n, (i) => contender.load(`doc-${first + ((i * 7919) % n)}`), 1)).opsPerSec;
});
for (const { contender, path } of opened.values()) {
  await contender.close();
  rmSync(path, { force: true });
}
const batches = await interleaved(names, async (name) => {
  const path = newFile();
  const batch = contenders[name]!(path);
  const all = docs(n);
  const secs = await seconds(() => batch.saveMany(all));
  await batch.close();
  rmSync(path, { force: true });
  return n / secs;
});

// keyv + @keyv/sqlite: its defaults (rollback journal, synchronous FULL).
{
  const keyv = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${newFile()}` }) });
  const pending = docs(keyvOps * rounds + 1000);
  const first = nextId - pending.length;
  saves.push(await measure('keyv + @keyv/sqlite', keyvOps, () => {
    const doc = pending.pop()!;
    return keyv.set(doc.id, doc);
  }, rounds));
  const count = Math.min(keyvOps * rounds, n);
  loads.push(await measure('keyv + @keyv/sqlite', count, (i) => keyv.get(`doc-${first + ((i * 7919) % count)}`), rounds));
  await keyv.disconnect();
}

report('save, one at a time (autocommit)', saves, 'raw better-sqlite3');
report(`saveMany: ${n} documents in one transaction`, batches, 'raw better-sqlite3');
report('load by random id + JSON.parse (cuttle: cache bypassed)', loads, 'raw better-sqlite3');
Object.assign(results, { saves, batches, loads });

const pick = (rows: Measurement[], name: string) => rows.find((row) => row.name === name)!.opsPerSec;
const targets: [string, number, number][] = [
  ['Store.save / raw autocommit inserts', pick(saves, 'cuttle Store (cache: false)') / pick(saves, 'raw better-sqlite3'), 0.7],
  ['Store.saveMany / raw one-transaction inserts', pick(batches, 'cuttle Store (cache: false)') / pick(batches, 'raw better-sqlite3'), 0.6],
  ['Store.load / raw select + JSON.parse', pick(loads, 'cuttle Store (cache: false)') / pick(loads, 'raw better-sqlite3'), 0.7],
  ['Store.save / keyv.set', pick(saves, 'cuttle Store (cache: false)') / pick(saves, 'keyv + @keyv/sqlite'), 10],
  ['Store.load / keyv.get', pick(loads, 'cuttle Store (cache: false)') / pick(loads, 'keyv + @keyv/sqlite'), 5],
];
console.log('\ntargets');
for (const [what, ratio, target] of targets) {
  console.log(`  ${what.padEnd(46)} ${ratio.toFixed(2).padStart(6)}x  (target >= ${target}x: ${ratio >= target ? 'met' : 'NOT MET'})`);
}
// The codec's share of the Store's: the backend contender already pays JSON.stringify/JSON.parse.
const registry = new TypeRegistry();
const codec = new Codec(registry);
const info = registry.register(BenchDoc);
const sample = new BenchDoc('doc-sample');
const sampleContent = codec.encode(sample, info);
const sampleJson = JSON.stringify(sample);
const codecRows = [
  await measure('JSON.stringify', n, () => JSON.stringify(sample), rounds),
  await measure('codec.encode', n, () => codec.encode(sample, info), rounds),
  await measure('JSON.parse', n, () => JSON.parse(sampleJson), rounds),
  await measure('codec.decode', n, () => codec.decode(sampleContent, info, 'doc-sample'), rounds),
];
// The Store's own cost, without SQLite's noise: the same calls on a backend that does nothing.
const RECORD: StoredRecord = { type: 'Doc', id: 'doc-sample', kind: 'object', content: sampleContent, version: 1, updatedAt: 0 };
const nullStore = new Store({ backend: new NullBackend(RECORD), cache: false });
const manyDocs = Array.from({ length: 1000 }, (_, i) => new BenchDoc(`doc-many-${i}`));
codecRows.push(
  await measure('Store.save on a null backend', n, () => nullStore.save(sample), rounds),
  await measure('Store.saveMany on a null backend, per document', Math.ceil(n / 1000), () => nullStore.saveMany(manyDocs), rounds),
  await measure('Store.load on a null backend', n, () => nullStore.load(BenchDoc, 'doc-sample'), rounds),
);
codecRows.at(-2)!.opsPerSec *= 1000;
results.codec = codecRows;
const codecUs = (name: string) => 1e6 / pick(codecRows, name);
console.log('\nmicroseconds per operation (where the time goes)');
console.log(
  `  codec.encode ${codecUs('codec.encode').toFixed(1)} µs vs JSON.stringify ${codecUs('JSON.stringify').toFixed(1)} µs; ` +
    `codec.decode ${codecUs('codec.decode').toFixed(1)} µs vs JSON.parse ${codecUs('JSON.parse').toFixed(1)} µs (one document, no GC pressure)`,
);
console.log(
  `  on a backend that does nothing: Store.save ${codecUs('Store.save on a null backend').toFixed(1)} µs, ` +
    `Store.saveMany ${codecUs('Store.saveMany on a null backend, per document').toFixed(1)} µs per document, ` +
    `Store.load ${codecUs('Store.load on a null backend').toFixed(1)} µs`,
);
for (const [label, rows] of [['save', saves], ['saveMany, per document', batches], ['load', loads]] as const) {
  const us = (name: string) => 1e6 / pick(rows, name);
  const raw = us('raw better-sqlite3');
  const backend = us('SqliteBackend alone');
  const store = us('cuttle Store (cache: false)');
  console.log(
    `  ${label.padEnd(24)} raw ${raw.toFixed(1)} µs; backend +${(backend - raw).toFixed(1)} µs; ` +
      `Store and codec +${(store - backend).toFixed(1)} µs; total ${store.toFixed(1)} µs`,
  );
}

// ---------------------------------------------------------------------------------------------
// What the pool is for. A load on the writer connection, as cuttle does it, against the same
// statement behind generic-pool's acquire/release, and behind a round trip to a worker thread.
const poolPath = newFile();
{
  const store = new SqliteBackend({ path: poolPath });
  await store.writeMany(docs(n).map((doc) => ({ type: 'Doc', id: doc.id, kind: 'object', content: JSON.stringify(doc) })));
  await store.close();
}
const ids = Array.from({ length: n }, (_, i) => `doc-${nextId - n + ((i * 7919) % n)}`);
{
  const db = new Database(poolPath);
  const select = db.prepare('SELECT content FROM objects WHERE type = ? AND id = ?').pluck();
  const pool = createPool(
    {
      create: async () => {
        const connection = new Database(poolPath);
        return connection.prepare('SELECT content FROM objects WHERE type = ? AND id = ?').pluck();
      },
      destroy: async (statement) => void statement.database.close(),
    },
    { max: 4 },
  );
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const db = new (require(workerData.driver))(workerData.path, { readonly: true });
     const select = db.prepare('SELECT content FROM objects WHERE type = ? AND id = ?').pluck();
     parentPort.on('message', (id) => parentPort.postMessage(select.get('Doc', id)));`,
    { eval: true, workerData: { path: poolPath, driver: createRequire(import.meta.url).resolve('better-sqlite3') } },
  );
  let reply: (content: string) => void = () => {};
  worker.on('message', (content: string) => reply(content));
  const viaWorker = (id: string) => new Promise<string>((resolve) => {
    reply = resolve;
    worker.postMessage(id);
  });
  const ops = quick ? 20_000 : 100_000;
  const rows = [
    await measure('writer connection, synchronous', ops, (i) => JSON.parse(select.get('Doc', ids[i % n]) as string), rounds),
    await measure('generic-pool acquire/release (4 connections)', ops, async (i) => {
      const statement = await pool.acquire();
      try {
        return JSON.parse(statement.get('Doc', ids[i % n]) as string);
      } finally {
        await pool.release(statement);
      }
    }, rounds),
    await measure('worker thread round trip', ops, async (i) => JSON.parse(await viaWorker(ids[i % n]!)), rounds),
  ];
  report('pool: one load by id + JSON.parse, by path', rows, 'writer connection, synchronous');
  results.poolLoads = rows;
  await worker.terminate();
  await pool.drain();
  await pool.clear();
  db.close();
}

// An export of the whole table with records(): on the main thread (readers: 0) or from a reader
// thread, alone and with saves going on. For each: records/s, the main thread's busy share
// (event-loop utilization), the longest event-loop stall, and saves/s completed meanwhile.
const exports: Record<string, unknown>[] = [];
for (const readers of [0, 1]) {
  for (const withSaves of [false, true]) {
    const backend = new SqliteBackend({ path: poolPath, readers });
    let saved = 0;
    let exporting = true;
    const saver = (async () => {
      while (withSaves && exporting) {
        await new Promise((resolve) => setImmediate(resolve));
        await backend.write({ type: 'Side', id: `s-${saved++}`, kind: 'object', content: '{"json":{}}' });
      }
    })();
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const elu = performance.eventLoopUtilization();
    const start = process.hrtime.bigint();
    let count = 0;
    for await (const record of backend.records()) if (record.type === 'Doc') count++;
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const busy = performance.eventLoopUtilization(elu).utilization;
    exporting = false;
    await saver;
    delay.disable();
    exports.push({
      mode: readers ? 'reader thread' : 'main thread (readers: 0)',
      withSaves,
      records: count,
      recordsPerSec: Math.round(count / secs),
      mainThreadBusy: Number(busy.toFixed(2)),
      maxStallMs: Number((delay.max / 1e6).toFixed(1)),
      savesPerSec: Math.round(saved / secs),
    });
    await backend.close();
    new Database(poolPath).exec(`DELETE FROM objects WHERE type = 'Side'`).close();
  }
}
console.log(`\nexport of ${n} records with records()`);
for (const row of exports) {
  console.log(
    `  ${String(row.mode).padEnd(26)} ${row.withSaves ? 'with saves ' : 'alone      '} ${String(row.recordsPerSec).padStart(8)} records/s  ` +
      `main thread busy ${row.mainThreadBusy}  longest stall ${row.maxStallMs} ms  ${row.withSaves ? `saves meanwhile ${row.savesPerSec}/s` : ''}`,
  );
}
results.exports = exports as never;

// pollChanges(): what the cache's once-per-turn check costs when nobody else wrote.
{
  const backend = new SqliteBackend({ path: poolPath });
  backend.changes(() => {});
  const row = await measure('pollChanges() with no change (PRAGMA data_version)', quick ? 100_000 : 1_000_000, () => backend.pollChanges(), rounds);
  report('cache coherence check', [row]);
  console.log(`  = ${(1e6 / row.opsPerSec).toFixed(2)} µs per call`);
  results.pollChanges = [row];
  await backend.close();
}

rmSync(dir, { recursive: true, force: true });
const json = process.argv.find((arg) => arg.startsWith('--json='));
if (json) writeFileSync(json.slice('--json='.length), JSON.stringify({ machine: machine(), n, quick, results }, null, 2));
