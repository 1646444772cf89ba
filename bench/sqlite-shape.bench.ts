// Why the `objects` table is an ordinary rowid table: the same ~1 KB JSON rows written and read
// through raw better-sqlite3 in a rowid table with a (type, id) primary-key index and in a
// WITHOUT ROWID table keyed on (type, id). Both in WAL mode with synchronous=NORMAL.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, measure, quick, report, type Measurement } from './harness.js';
import { documentJson } from './sqlite-data.js';

const n = quick ? 20_000 : 100_000;
const dir = mkdtempSync(join(tmpdir(), 'cuttle-shape-'));
console.log(`${machine()}; N = ${n}, rows of ${documentJson(0).length} bytes`);

const columns = 'type TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, content TEXT NOT NULL, version INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (type, id)';
const shapes = {
  'rowid table + (type, id) index': `CREATE TABLE objects (${columns})`,
  'WITHOUT ROWID table': `CREATE TABLE objects (${columns}) WITHOUT ROWID`,
};

function open(name: string, ddl: string): Database.Database {
  const db = new Database(join(dir, `${name}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(ddl);
  return db;
}

/** Rows per second of `fn`, the median of `rounds` runs, each after `setup` (not timed). */
function time(name: string, rounds: number, count: number, setup: () => void, fn: () => void): Measurement {
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    setup();
    const start = process.hrtime.bigint();
    fn();
    rates.push(count / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  return { name, opsPerSec: median, spread: (rates.at(-1)! - rates[0]!) / median };
}

const rows: Record<string, Measurement[]> = { autocommit: [], batch: [], read: [] };
for (const [label, ddl] of Object.entries(shapes)) {
  const slug = label.startsWith('rowid') ? 'rowid' : 'without';
  const db = open(slug, ddl);
  const insert = db.prepare('INSERT INTO objects VALUES (?, ?, ?, ?, 1, ?, ?)');
  const batch = db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run('Doc', `doc-${i}`, 'object', documentJson(i), i, i);
  });
  // Each round starts from an empty table.
  rows.batch!.push(time(label, 3, n, () => db.exec('DELETE FROM objects'), batch));
  const select = db.prepare('SELECT content FROM objects WHERE type = ? AND id = ?').pluck();
  const order = Array.from({ length: n }, (_, i) => (i * 7919) % n);
  rows.read!.push(await measure(label, n, (i) => JSON.parse(select.get('Doc', `doc-${order[i]}`) as string), 3));
  rows.autocommit!.push(time(label, 1, n, () => db.exec('DELETE FROM objects'), () => {
    for (let i = 0; i < n; i++) insert.run('Doc', `doc-${i}`, 'object', documentJson(i), i, i);
  }));
  db.close();
}
report('autocommit inserts (one transaction per row)', rows.autocommit!, 'WITHOUT ROWID table');
report('batch inserts (one transaction)', rows.batch!, 'WITHOUT ROWID table');
report('random reads + JSON.parse', rows.read!, 'WITHOUT ROWID table');
rmSync(dir, { recursive: true, force: true });
