import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { migrate, MIGRATIONS } from '../src/backends/sqlite-schema.js';
// Through the Node entry, which gives the core its dump files (exportTo): as a user imports it.
import { ClosedError, ConflictError, CorruptDataError, InvalidOptionError, Serializable, SqliteBackend, Store, type BackendChange, type RecordWrite, type StoredRecord } from '../src/index.js';
import { backendSuite } from '../src/testing/index.js';
import { feedOf, rejects, tempDir, throwsError } from './helpers.js';

let dir = tempDir('cuttle-sqlite-');
const file = () => join(dir.path, 'store.db');
const teardown = () => {
  dir.remove();
  dir = tempDir('cuttle-sqlite-');
};
// A small change log (the default keeps 10,000 rows), pruned every 1,000 writes: 1,100 writes by
// the peer prune past a reader that did not look.
const smallLog = { changeLogRows: 10 };
backendSuite('sqlite file', () => new SqliteBackend({ path: file(), ...smallLog }), {
  reopen: async (backend) => {
    await backend.close();
    return new SqliteBackend({ path: file(), ...smallLog });
  },
  peer: () => new SqliteBackend({ path: file(), ...smallLog }),
  logOverflow: 1100,
  atomicBatches: true,
  transactions: true,
  search: true,
  teardown,
});
backendSuite('sqlite :memory:', () => new SqliteBackend({ path: ':memory:' }), { atomicBatches: true, transactions: true, search: true });

function w(id: string, extra: Partial<RecordWrite> = {}): RecordWrite {
  return { type: 'T', id, kind: 'object', content: `{"json":${JSON.stringify(id)}}`, ...extra };
}

async function collect(records: AsyncIterable<StoredRecord>): Promise<string[]> {
  const seen: string[] = [];
  for await (const record of records) seen.push(`${record.type}/${record.id}`);
  return seen;
}

/** Opens `path` with better-sqlite3 alone, runs `fn` on it and closes it. */
function raw<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const test = suite('SqliteBackend');
test.after.each(teardown);

test('schema: one objects table, rowid, one (type, id) index; WAL, synchronous, busy timeout, user_version', async () => {
  const backend = new SqliteBackend({ path: file(), synchronous: 'FULL', busyTimeout: 1234 });
  assert.equal(backend.settings(), { journalMode: 'wal', synchronous: 'FULL', busyTimeout: 1234, schemaVersion: MIGRATIONS.length });
  await backend.close();
  const byDefault = new SqliteBackend({ path: file() });
  assert.is(byDefault.settings().synchronous, 'NORMAL', 'NORMAL by default');
  assert.is(byDefault.settings().busyTimeout, 5000);
  await byDefault.close();
  raw(file(), (db) => {
    assert.equal(db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all(), ['changes', 'objects'], 'the objects and the change log');
    const columns = db.prepare(`SELECT name FROM pragma_table_info('objects')`).pluck().all();
    assert.equal(columns, ['type', 'id', 'kind', 'content', 'version', 'created_at', 'updated_at']);
    assert.equal(db.prepare(`SELECT origin FROM pragma_index_list('objects')`).pluck().all(), ['pk'], 'exactly one index');
    assert.is(db.prepare(`SELECT wr FROM pragma_table_list WHERE name = 'objects'`).pluck().get(), 0, 'an ordinary rowid table');
    assert.is(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.is(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  });
  const memory = new SqliteBackend({ path: ':memory:' });
  assert.equal(memory.settings().schemaVersion, MIGRATIONS.length);
  await memory.close();
});

test('the WAL file stays bounded under many small writes (bug: get() on the RETURNING upsert kept it growing)', async () => {
  const backend = new SqliteBackend({ path: file() });
  const content = JSON.stringify({ json: 'x'.repeat(1000) });
  // About two pages per record, so these pass SQLite's 1000-page automatic checkpoint several times.
  for (let i = 0; i < 1500; i++) {
    await backend.write(w(`id-${i}`, { content }));
    await backend.write(w(`id-${i}`, { content, expectedVersion: 1 }));
    await backend.writeMany([w(`batch-${i}-a`, { content }), w(`batch-${i}-b`, { content })]);
  }
  const wal = statSync(`${file()}-wal`).size;
  assert.ok(wal < 1500 * 4096, `the WAL is ${wal} bytes`);
  await backend.close();
});

test('lookups and listings use the (type, id) index, never a table scan', () => {
  raw(':memory:', (db) => {
    migrate(db, ':memory:');
    for (const sql of [
      `SELECT content FROM objects WHERE type = 'T' AND id = 'a'`,
      `SELECT id FROM objects WHERE type = 'T' ORDER BY id`,
      `SELECT type, id FROM objects WHERE (type, id) > ('T', 'a') ORDER BY type, id LIMIT 500`,
    ]) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all().map((row) => (row as { detail: string }).detail).join('; ');
      assert.match(plan, /USING (COVERING )?INDEX sqlite_autoindex_objects_1/, sql);
      assert.not.match(plan, /TEMP B-TREE/, `${sql}: no sort`);
    }
  });
});

test('writeMany and putMany are all or nothing: a failure mid-batch leaves nothing', async () => {
  const backend = new SqliteBackend({ path: file() });
  await backend.write(w('a'));
  // SQLite itself refuses the middle record (kind is checked by the table).
  const bad = w('bad', { kind: 'nonsense' as never });
  await rejects(backend.writeMany([w('a'), w('b'), bad, w('c')]), Error);
  assert.equal(await backend.list('T'), ['a']);
  assert.is((await backend.load('T', 'a'))?.version, 1, 'a was not rewritten');
  const record: StoredRecord = { type: 'T', id: 'p', kind: 'object', content: '{"json":1}', version: 3, updatedAt: 5 };
  await rejects(backend.putMany([record, { ...record, id: 'q' }, { ...record, id: 'r', kind: 'nonsense' as never }]), Error);
  assert.equal(await backend.list('T'), ['a']);
  await rejects(backend.writeMany([w('d'), w('a', { expectedVersion: 0 })]), ConflictError);
  assert.equal(await backend.list('T'), ['a']);
  await backend.close();
});

test('two processes writing one new file: no lost writes, no SQLITE_BUSY, one winner per expectedVersion race', async () => {
  const count = 150;
  const fixture = fileURLToPath(new URL('./fixtures/sqlite-writer.ts', import.meta.url));
  const children = ['p1', 'p2'].map((name) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, file(), name, String(count)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
    const ready = new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('ready') && resolve()));
    const done = new Promise<{ created: string[]; updated: string[] }>((resolve, reject) =>
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`writer ${name} exited with ${code}:\n${err}`));
        else resolve(JSON.parse(out.trim().split('\n').at(-1)!));
      }),
    );
    return { child, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const { child } of children) child.stdin.end('go\n');
  const [a, b] = await Promise.all(children.map((c) => c.done));

  const backend = new SqliteBackend({ path: file() });
  assert.is((await backend.load('Shared', 'counter'))?.version, 2 * count, 'every increment of the shared record counted');
  assert.is(await backend.count('Own'), 2 * count);
  assert.is(await backend.count('Batch'), 2 * (count / 10) * 5);
  for (const stage of ['created', 'updated'] as const) {
    const winners = [...a![stage], ...b![stage]].sort();
    assert.equal(winners, Array.from({ length: count }, (_, i) => `r${i}`).sort(), `exactly one process won each ${stage} race`);
  }
  assert.is((await backend.load('Race', 'r0'))?.version, 2);
  await backend.close();
});

test('opening a rollback-journal file while another process writes it: the switch to WAL waits for the writer (SQLite returns SQLITE_BUSY at once, without the busy handler)', async () => {
  // A cuttle file in rollback-journal mode, as a new file is between its creation and the switch
  // that the first connection makes; a second process holds a write transaction on it for 300 ms.
  await new SqliteBackend({ path: file() }).close();
  const raw = new Database(file());
  raw.pragma('journal_mode = DELETE');
  raw.close();
  const hold = `const db = new (require('better-sqlite3'))(${JSON.stringify(file())}); db.prepare('BEGIN IMMEDIATE').run(); console.log('writing'); setTimeout(() => { db.prepare('COMMIT').run(); db.close(); }, 300);`;
  const writer = spawn(process.execPath, ['-e', hold], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => writer.stdout.on('data', (chunk) => String(chunk).includes('writing') && resolve()));
  const backend = new SqliteBackend({ path: file() });
  await backend.write(w('a'));
  assert.is((await backend.load('T', 'a'))?.version, 1);
  await backend.close();
  await new Promise((resolve) => writer.on('close', resolve));
  const check = new Database(file(), { readonly: true });
  assert.is(check.pragma('journal_mode', { simple: true }), 'wal');
  check.close();
});

test('a writer killed (SIGKILL) in the middle of a batch: a reader hears of all of that batch or none of it', async () => {
  const size = 500;
  const reader = new SqliteBackend({ path: file() });
  const feed = feedOf(reader);
  const fixture = fileURLToPath(new URL('./fixtures/sqlite-batcher.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, file(), String(size)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let acknowledged = 0;
  const heard: BackendChange[] = [];
  await new Promise<void>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      acknowledged = Math.max(acknowledged, ...[...chunk.matchAll(/round (\d+)/g)].map((m) => Number(m[1])));
      heard.push(...feed.poll());
      // Some rounds in, at a moment of the next batch that varies from run to run.
      if (acknowledged >= 3) setTimeout(resolve, Math.random() * 20);
    });
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('close', resolve));
  heard.push(...feed.poll());
  const byVersion = new Map<number, Set<string>>();
  for (const change of heard) {
    assert.ok(change.reset !== true, 'no reset: the log was not pruned');
    if (change.reset === true) continue;
    const ids = byVersion.get(change.version) ?? new Set<string>();
    byVersion.set(change.version, ids.add(change.id));
  }
  const stored = await reader.load('B', 'b0');
  const round = (JSON.parse(stored!.content) as { json: { round: number } }).json.round;
  assert.ok(round >= acknowledged, `round ${round} stored, ${acknowledged} acknowledged`);
  for (const [version, ids] of byVersion) assert.is(ids.size, size, `version ${version}: all ${size} changes of the batch heard, or none`);
  assert.equal([...byVersion.keys()].sort((a, b) => a - b), Array.from({ length: round }, (_, i) => i + 1), 'every committed batch heard');
  for (const record of await reader.loadMany('B', Array.from({ length: size }, (_, k) => `b${k}`))) {
    assert.is(record?.content, stored!.content, `${record?.id}: one batch, whole`);
  }
  feed.stop();
  await reader.close();
});

test('the change feed: nothing for own writes and anyone\'s reads; exactly the keys another connection changed, once', async () => {
  const mine = new SqliteBackend({ path: file() });
  const other = new SqliteBackend({ path: file() });
  const feed = feedOf(mine);
  const theirs = feedOf(other);
  assert.equal(feed.poll(), [], 'nothing since opening');
  await mine.write(w('a'));
  await mine.writeMany([w('b'), w('c')]);
  await mine.delete('T', 'c');
  assert.equal(feed.poll(), [], 'own writes');
  assert.equal(await collect(mine.records()), ['T/a', 'T/b']);
  assert.equal(feed.poll(), [], 'own reader threads write nothing');
  await other.load('T', 'a');
  assert.equal(feed.poll(), [], "another connection's reads");
  await other.write(w('a'));
  await other.deleteMany('T', ['b']);
  assert.equal(feed.poll(), [{ type: 'T', id: 'a', version: 2, deleted: false }, { type: 'T', id: 'b', version: 1, deleted: true }], "another connection's writes, in order");
  assert.equal(feed.poll(), [], 'reported once');
  assert.equal(theirs.poll(), [
    { type: 'T', id: 'a', version: 1, deleted: false },
    { type: 'T', id: 'b', version: 1, deleted: false },
    { type: 'T', id: 'c', version: 1, deleted: false },
    { type: 'T', id: 'c', version: 1, deleted: true },
  ], "the first backend's writes, seen from the second");
  await other.clear();
  assert.equal(feed.poll(), [{ reset: true }], 'clear: one reset, not a row per object');
  assert.equal(theirs.poll(), []);
  await other.close();
  await mine.close();
  assert.equal(feed.poll(), [], 'closed: nothing to report');
});

test('changeLog: false: its commits reach others as resets, never as a stale read; it still hears others exactly; a prune is no reset', async () => {
  const logged = new SqliteBackend({ path: file(), changeLogRows: 10 });
  const unlogged = new SqliteBackend({ path: file(), changeLog: false });
  const feed = feedOf(logged);
  const theirs = feedOf(unlogged);
  await unlogged.write(w('a'));
  assert.equal(feed.poll(), [{ reset: true }], 'a commit with no row: anything may have changed');
  await unlogged.writeMany([w('b'), w('c')]);
  await unlogged.clear();
  assert.equal(feed.poll(), [{ reset: true }], 'one reset for all of them');
  assert.equal(feed.poll(), [], 'reported once');
  await logged.write(w('x'));
  assert.equal(theirs.poll(), [{ type: 'T', id: 'x', version: 1, deleted: false }], 'the logged writer is heard object by object');
  // 1,000 writes prune the log (changeLogRows 10), read as they come: the prune's commit carries a row of its own.
  const heard = [];
  for (let i = 0; i < 1000; i++) {
    await logged.write(w(`p${i}`));
    heard.push(...theirs.poll());
  }
  heard.push(...theirs.poll());
  assert.is(heard.length, 1000);
  assert.ok(heard.every((change) => change.reset !== true), 'no reset: the prune is known for one');
  const look = new Database(file(), { readonly: true });
  // The 1,000th write counted (x was the first) pruned: ten rows kept, the marker, then the last write's row.
  assert.is(look.prepare('SELECT count(*) FROM changes').pluck().get(), 12);
  assert.is(look.prepare('SELECT count(*) FROM changes WHERE op = 3').pluck().get(), 1, 'one marker');
  look.close();
  throwsError(() => new SqliteBackend({ path: file(), changeLog: 'no' as never }), InvalidOptionError, /SqliteBackend: changeLog must be one of true, false, got "no"/);
  feed.stop();
  theirs.stop();
  await unlogged.close();
  await logged.close();
});

test('records() streams from a reader thread in chunks, from one snapshot, while writes go on', async () => {
  const backend = new SqliteBackend({ path: file(), readers: 1 });
  assert.equal(backend.pool, { size: 0, available: 0, borrowed: 0, pending: 0, max: 1 }, 'no thread before the first export');
  const ids = Array.from({ length: 1234 }, (_, i) => `id-${String(i).padStart(5, '0')}`);
  await backend.writeMany(ids.map((id) => w(id)));
  await backend.write({ ...w('first'), type: 'A' });
  const seen: string[] = [];
  for await (const record of backend.records()) {
    if (seen.length === 0) {
      assert.is(backend.pool.borrowed, 1);
      await backend.write(w('zzz-written-during-the-export')); // the writer is not blocked
      await backend.delete('T', ids[1000]!);
    }
    seen.push(`${record.type}/${record.id}`);
  }
  assert.equal(seen, ['A/first', ...ids.map((id) => `T/${id}`)], 'the snapshot taken when the export began');
  assert.equal(backend.pool, { size: 1, available: 1, borrowed: 0, pending: 0, max: 1 });
  // Stopping early gives the reader back, and the next export reuses it.
  for await (const _ of backend.records()) break;
  assert.equal(backend.pool, { size: 1, available: 1, borrowed: 0, pending: 0, max: 1 });
  assert.is((await collect(backend.records())).length, ids.length + 1);
  await backend.close();
  assert.equal(backend.pool, { size: 0, available: 0, borrowed: 0, pending: 0, max: 1 });
});

test('records(): with every reader busy, an export waits for one, or fails after acquireTimeoutMillis', async () => {
  const backend = new SqliteBackend({ path: file(), readers: 1 });
  await backend.writeMany(Array.from({ length: 1200 }, (_, i) => w(`${i}`)));
  const first = backend.records();
  await first.next();
  const second = collect(backend.records());
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(backend.pool, { size: 1, available: 0, borrowed: 1, pending: 1, max: 1 });
  for await (const _ of first);
  assert.is((await second).length, 1200, 'the second export ran once the first gave its reader back');
  await backend.close();

  const impatient = new SqliteBackend({ path: file(), readers: 1, acquireTimeoutMillis: 1 });
  const holding = impatient.records();
  await holding.next();
  await rejects(collect(impatient.records()), Error, /records\(\): every reader thread stayed busy for acquireTimeoutMillis \(1 ms\)/);
  await holding.return?.(undefined);
  assert.is(impatient.pool.borrowed, 0);
  await impatient.close();
});

test('records() on the main thread (readers: 0, :memory:) pages through the table in order', async () => {
  for (const path of [file(), ':memory:']) {
    const backend = new SqliteBackend({ path, readers: 0 });
    const ids = Array.from({ length: 1001 }, (_, i) => `${i}`);
    await backend.writeMany([...ids.map((id) => w(id)), { ...w('x'), type: 'A' }, { ...w('x'), type: 'U' }]);
    const expected = ['A/x', ...[...ids].sort().map((id) => `T/${id}`), 'U/x'];
    assert.equal(await collect(backend.records()), expected, path);
    assert.is(backend.pool.max, 0);
    await backend.close();
  }
});

test('a closed backend: every method throws ClosedError, an export under way stops with it', async () => {
  const backend = new SqliteBackend({ path: file() });
  await backend.writeMany(Array.from({ length: 2000 }, (_, i) => w(`${i}`)));
  const records = backend.records();
  assert.ok(!(await records.next()).done);
  await backend.close();
  await rejects(async () => {
    for (;;) if ((await records.next()).done) break;
  }, ClosedError);
  for (const call of [
    () => backend.load('T', 'a'),
    () => backend.write(w('a')),
    () => backend.writeMany([w('a')]),
    () => backend.put({ ...w('a'), version: 1, updatedAt: 1 }),
    () => backend.putMany([]),
    () => backend.delete('T', 'a'),
    () => backend.exists('T', 'a'),
    () => backend.count('T'),
    () => backend.list('T'),
    () => backend.listTypes(),
    () => backend.clear(),
    () => backend.records().next(),
  ]) {
    const error = await rejects(call, ClosedError, /SqliteBackend .*store\.db.* is closed/);
    assert.is(error.code, 'ERR_CLOSED');
  }
  throwsError(() => backend.settings(), ClosedError);
  await backend.close();
});

test('closing during an export, at any moment, settles every pending read with ClosedError (bug: close() hung when the reader thread was idle or replied while stopping)', async () => {
  const seeded = new SqliteBackend({ path: file() });
  await seeded.writeMany(Array.from({ length: 1200 }, (_, i) => w(`${i}`))); // three chunks
  await seeded.close();
  const turns = (n: number, next: (resolve: () => void) => void) => async () => {
    for (let i = 0; i < n; i++) await new Promise<void>(next);
  };
  const moments: Record<string, () => Promise<void>> = {};
  for (const n of [0, 1, 2, 3, 5, 8]) moments[`${n} microtasks`] = turns(n, (resolve) => queueMicrotask(resolve));
  for (const n of [1, 2, 4, 8]) moments[`${n} macrotasks`] = turns(n, (resolve) => setImmediate(resolve));
  // Long enough for the thread to start and a chunk to arrive (how long varies; none of it is asserted).
  for (const ms of [1, 5, 20, 40]) moments[`${ms} ms`] = turns(1, (resolve) => setTimeout(resolve, ms));
  type Export = { records: AsyncIterator<StoredRecord>; pending?: Promise<IteratorResult<StoredRecord>> };
  // Awaited after close(); until then its rejection is not unhandled.
  const later = <T>(promise: Promise<T>) => (promise.catch(() => {}), promise);
  const starts: Record<string, (backend: SqliteBackend) => Promise<Export[]>> = {
    'the reader just created, the first read pending': async (backend) => {
      const records = backend.records();
      return [{ records, pending: later(records.next()) }];
    },
    'after the first chunk, the next one prefetched': async (backend) => {
      const records = backend.records();
      await records.next();
      return [{ records, pending: later(records.next()) }];
    },
    'a second export waiting for the only reader, the first one paused': async (backend) => {
      const first = backend.records();
      await first.next();
      const second = backend.records();
      return [{ records: first }, { records: second, pending: later(second.next()) }];
    },
  };
  // A read that never settles lets the event loop drain, and uvu exits early: say which case that was.
  let current = '';
  const onDrain = () => console.error(`\nhung: closing ${current}`);
  process.on('beforeExit', onDrain);
  for (const [start, begin] of Object.entries(starts)) {
    for (const [moment, wait] of Object.entries(moments)) {
      current = `${start}, after ${moment}`;
      // acquireTimeoutMillis 0: no timer keeps the process alive, so nothing settles by luck.
      const backend = new SqliteBackend({ path: file(), readers: 1, acquireTimeoutMillis: 0 });
      const exports = await begin(backend);
      await wait();
      await backend.close();
      // The waiting export first: it must settle even while the one holding the reader is never read again.
      for (const { records, pending } of exports.reverse()) {
        await rejects(async () => {
          if (pending) await pending;
          for (;;) if ((await records.next()).done) break;
        }, ClosedError);
      }
      assert.equal(backend.pool, { size: 0, available: 0, borrowed: 0, pending: 0, max: 1 }, current);
    }
  }
  process.off('beforeExit', onDrain);
});

test('reopening after close keeps records, versions and timestamps', async () => {
  let backend = new SqliteBackend({ path: file(), now: () => 1_700_000_000_000 });
  await backend.write(w('a'));
  await backend.write(w('a'));
  await backend.put({ type: 'U', id: 'p', kind: 'container', content: '{"json":[]}', version: 9, updatedAt: 42 });
  await backend.close();
  backend = new SqliteBackend({ path: file() });
  assert.equal(await backend.load('T', 'a'), { type: 'T', id: 'a', kind: 'object', content: '{"json":"a"}', version: 2, updatedAt: 1_700_000_000_000 });
  assert.equal(await backend.load('U', 'p'), { type: 'U', id: 'p', kind: 'container', content: '{"json":[]}', version: 9, updatedAt: 42 });
  await backend.close();
});

test('a file that is not a cuttle database is a CorruptDataError naming it, and is left unchanged', async () => {
  const cases: Record<string, (path: string) => void> = {
    'a text file': (path) => writeFileSync(path, 'just some notes\n'.repeat(100)),
    'a damaged header': (path) => {
      raw(path, (db) => migrate(db, path));
      const bytes = readFileSync(path);
      bytes.write('not sqlite at all', 0);
      writeFileSync(path, bytes);
    },
    'a foreign objects table': (path) => raw(path, (db) => db.exec('CREATE TABLE objects (name TEXT PRIMARY KEY, size INTEGER)')),
    'a foreign objects table of the same columns, without a version': (path) =>
      raw(path, (db) => {
        migrate(db, path);
        db.pragma('user_version = 0');
      }),
    'a schema version of another application': (path) => raw(path, (db) => db.pragma('user_version = 1')),
    'a newer schema version': (path) =>
      raw(path, (db) => {
        migrate(db, path);
        db.pragma('user_version = 99');
      }),
    'a second index': (path) =>
      raw(path, (db) => {
        migrate(db, path);
        db.exec('CREATE INDEX objects_by_type ON objects (type)');
      }),
  };
  for (const [name, make] of Object.entries(cases)) {
    const path = join(dir.path, `${name.replaceAll(' ', '-')}.db`);
    make(path);
    const before = readFileSync(path);
    const error = throwsError(() => new SqliteBackend({ path }), CorruptDataError);
    assert.ok(error.message.includes(path), `${name}: ${error.message}`);
    assert.is(error.where.file, path);
    assert.is(error.code, 'ERR_CORRUPT_DATA');
    assert.ok(readFileSync(path).equals(before), `${name}: unchanged`);
  }
});

test('a file damaged after it was written: reads fail with CorruptDataError, not a crash', async () => {
  let backend = new SqliteBackend({ path: file() });
  await backend.writeMany(Array.from({ length: 500 }, (_, i) => w(`id-${i}`, { content: JSON.stringify({ json: 'x'.repeat(500) }) })));
  await backend.close();
  const bytes = readFileSync(file());
  const page = 4096;
  bytes.fill(0xa5, 3 * page, bytes.length - page); // every page but the first three and the last
  writeFileSync(file(), bytes);
  backend = new SqliteBackend({ path: file() });
  const errors = [];
  for (const call of [() => backend.list('T'), () => backend.load('T', 'id-250'), () => collect(backend.records())]) {
    errors.push(await rejects(call, CorruptDataError));
  }
  for (const error of errors) assert.ok(error.message.includes(file()), error.message);
  await backend.close();
});

class Note extends Serializable {
  title = '';
}

/**
 * Writes 5,000 notes (about 13 to a table page), then overwrites with zeros the middle leaf page
 * of each b-tree named (`objects`, the table; `sqlite_autoindex_objects_1`, its (type, id) index):
 * the same pages every run. @returns the ids, sorted.
 */
async function damagedStore(btrees: string[]): Promise<string[]> {
  const store = new Store({ backend: new SqliteBackend({ path: file() }) });
  const ids = Array.from({ length: 5000 }, (_, i) => `note-${String(i).padStart(4, '0')}`);
  await store.saveMany(ids.map((id) => Object.assign(new Note(id), { title: `${id} ${'x'.repeat(250)}` })));
  await store.close();
  const [pageSize, pages] = raw(file(), (db) => [
    db.pragma('page_size', { simple: true }) as number,
    btrees.map((name) => {
      const leaves = db.prepare(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno`).pluck().all(name) as number[];
      assert.ok(leaves.length > 20, `${name} has ${leaves.length} leaf pages`);
      return leaves[leaves.length >> 1]!;
    }),
  ]);
  const bytes = readFileSync(file());
  for (const page of pages) bytes.fill(0, (page - 1) * pageSize, page * pageSize);
  writeFileSync(file(), bytes);
  return ids;
}

/** A store on the damaged file, and which ids still load by id. */
async function openDamaged(ids: string[], readers: number) {
  const store = new Store({ backend: new SqliteBackend({ path: file(), readers }) });
  store.register(Note);
  const loadable: string[] = [];
  const unloadable: string[] = [];
  for (const id of ids) {
    try {
      await store.load(Note, id, { cache: false });
      loadable.push(id);
    } catch (error) {
      assert.instance(error, CorruptDataError);
      unloadable.push(id);
    }
  }
  return { store, loadable, unloadable };
}

/** Every record of `store`, and what onCorrupt was given. */
async function salvaged(store: Store): Promise<{ ids: string[]; reported: CorruptDataError[] }> {
  const reported: CorruptDataError[] = [];
  const ids: string[] = [];
  for await (const record of store.backend.records({ onCorrupt: (error) => reported.push(error) })) ids.push(record.id);
  return { ids, reported };
}

/** exportTo with onCorrupt writes a dump that imports whole: @returns the ids in it and those it skipped. */
async function exportDamaged(store: Store, name: string): Promise<{ ids: string[]; skipped: CorruptDataError[] }> {
  const dump = join(dir.path, name);
  const skipped: CorruptDataError[] = [];
  const summary = await store.exportTo(dump, { onCorrupt: (error) => skipped.push(error) });
  const copy = new Store();
  copy.register(Note);
  assert.is((await copy.importFrom(dump)).count, summary.count);
  return { ids: await copy.list(Note), skipped };
}

test('a damaged table page: verify and exportTo({ onCorrupt }) report the objects on it and read all the others, on a reader thread and on the main thread (bug: they stopped at the page with CorruptDataError)', async () => {
  const ids = await damagedStore(['objects']);
  for (const readers of [2, 0]) {
    const { store, loadable, unloadable } = await openDamaged(ids, readers);
    const context = `readers: ${readers}`;
    assert.ok(unloadable.length > 0 && unloadable.length < 50, `${unloadable.length} of ${ids.length} do not load`);
    await rejects(collect(store.backend.records()), CorruptDataError, /is damaged/); // without onCorrupt, as before

    const { ids: read, reported } = await salvaged(store);
    assert.equal(read, loadable, `${context}: records() reads what loads by id reach, in order`);
    assert.equal(reported.map((error) => error.where), unloadable.map((id) => ({ file: file(), type: 'Note', id })), context);
    for (const error of reported) assert.match(error.message, `${file()} is damaged: Note "${error.where.id}" cannot be read`);

    const report = await store.verify();
    assert.is(report.checked, ids.length, context);
    assert.equal(report.unreadable.map((entry) => entry.id), unloadable, context);
    assert.is(report.checked - report.unreadable.length, loadable.length);

    const dumped = await exportDamaged(store, `dump-${readers}.ndjson`);
    assert.equal(dumped.ids, loadable, context);
    assert.equal(dumped.skipped.map((error) => error.where.id), unloadable, context);
    await store.close();
  }
});

test('a damaged index page: exportTo({ onCorrupt }) still reads every object, from the table, and reports the index (bug: it stopped at the page)', async () => {
  const ids = await damagedStore(['sqlite_autoindex_objects_1']);
  for (const readers of [2, 0]) {
    const { store, unloadable } = await openDamaged(ids, readers);
    const context = `readers: ${readers}`;
    assert.ok(unloadable.length > 0, 'some ids cannot be found by id');
    await rejects(collect(store.backend.records()), CorruptDataError);
    const { ids: read, reported } = await salvaged(store);
    assert.equal(read, ids, `${context}: every object, in order`);
    assert.equal(reported.map((error) => error.where), [{ file: file() }], context);
    assert.match(reported[0]!.message, /is damaged: its \(type, id\) index cannot be read past Note "note-\d+"; the objects after it are read from the table/);
    const report = await store.verify();
    assert.is(report.unreadable.length, 1, context);
    assert.is(report.checked - report.unreadable.length, ids.length);
    const dumped = await exportDamaged(store, `dump-${readers}.ndjson`);
    assert.equal(dumped.ids, ids, context);
    await store.close();
  }
});

test('a damaged index page and a damaged table page: every row the table can still read, in order; rows neither can name are reported by rowid', async () => {
  const ids = await damagedStore(['sqlite_autoindex_objects_1', 'objects']);
  // What SQLite can read row by row, from the table alone.
  const readable = raw(file(), (db) => {
    const row = db.prepare('SELECT id FROM objects NOT INDEXED WHERE rowid = ?').pluck();
    return ids.flatMap((_, i) => {
      try {
        return [row.get(i + 1) as string];
      } catch {
        return [];
      }
    });
  }).sort();
  assert.ok(readable.length > ids.length - 50 && readable.length < ids.length, `${readable.length} rows readable`);
  for (const readers of [2, 0]) {
    const store = new Store({ backend: new SqliteBackend({ path: file(), readers }) });
    const { ids: read, reported } = await salvaged(store);
    assert.equal(read, readable, `readers: ${readers}`);
    for (const error of reported) assert.is(error.where.file, file());
    assert.ok(reported.some((error) => /the table's rows with rowid \d+ to \d+ cannot be read, and no readable index entry names them/.test(error.message)), reported.map((error) => error.message).join('\n'));
    await store.close();
  }
});

test('migration: a version 0 file holding other tables gets the objects table, and keeps its own', async () => {
  raw(file(), (db) => {
    db.exec(`CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT); INSERT INTO settings VALUES ('theme', 'dark')`);
    assert.is(db.pragma('user_version', { simple: true }), 0);
  });
  const backend = new SqliteBackend({ path: file() });
  assert.is(backend.settings().schemaVersion, MIGRATIONS.length);
  await backend.write(w('a'));
  await backend.close();
  raw(file(), (db) => assert.is(db.prepare(`SELECT value FROM settings WHERE key = 'theme'`).pluck().get(), 'dark'));
});

test('migration: a wave 1 file (schema version 1) gets the change log and keeps every object', async () => {
  raw(file(), (db) => {
    migrate(db, file(), MIGRATIONS.slice(0, 1));
    db.prepare(`INSERT INTO objects VALUES ('T', 'old', 'object', '{"json":1}', 3, 1, 2)`).run();
  });
  const backend = new SqliteBackend({ path: file() });
  assert.is(backend.settings().schemaVersion, MIGRATIONS.length);
  assert.is((await backend.load('T', 'old'))?.version, 3);
  const other = new SqliteBackend({ path: file() });
  const feed = feedOf(backend);
  await other.write(w('old'));
  assert.equal(feed.poll(), [{ type: 'T', id: 'old', version: 4, deleted: false }]);
  await other.close();
  await backend.close();
});

test('migration: steps run in order in one transaction; a failing step leaves the file as it was', () => {
  const path = file();
  raw(path, (db) => {
    db.exec('CREATE TABLE keep (x)');
    const ran: number[] = [];
    const failing = [...MIGRATIONS, () => ran.push(1), () => {
      throw new Error('step 2 fails');
    }];
    throwsError(() => migrate(db, path, failing), Error, /step 2 fails/);
    assert.is(db.pragma('user_version', { simple: true }), 0);
    assert.equal(db.prepare(`SELECT name FROM sqlite_schema`).pluck().all(), ['keep'], 'no objects table either');
    const steps = [...MIGRATIONS, (d: Database.Database) => d.exec('CREATE TABLE extra (y)')];
    migrate(db, path, steps);
    assert.is(db.pragma('user_version', { simple: true }), MIGRATIONS.length + 1);
    assert.equal(db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all(), ['changes', 'extra', 'keep', 'objects']);
    migrate(db, path, steps); // up to date: nothing runs
    // A file at the current version opened by code that knows one more runs only the new step.
    const at1 = join(dir.path, 'v1.db');
    raw(at1, (old) => migrate(old, at1));
    raw(at1, (old) => {
      migrate(old, at1, steps);
      assert.is(old.pragma('user_version', { simple: true }), MIGRATIONS.length + 1);
      assert.ok(old.prepare(`SELECT 1 FROM sqlite_schema WHERE name = 'extra'`).get());
    });
  });
});

test('options are checked where they enter, with messages that say what is wrong', () => {
  const bad: [unknown, RegExp][] = [
    [{ pth: 'x' }, /SqliteBackend: unknown option "pth" \(did you mean "path"\?\); known options: path, readonly, synchronous, busyTimeout, readers, acquireTimeoutMillis, now/],
    [{ path: 'x', poolSize: 2 }, /unknown option "poolSize"/],
    [undefined, /SqliteBackend: path must be a file name or ':memory:', got undefined/],
    [{}, /path must be a file name/],
    [{ path: '' }, /path must be a file name or ':memory:', got ""/],
    [{ path: 'x', synchronous: 'normal' }, /SqliteBackend: synchronous must be one of "OFF", "NORMAL", "FULL", "EXTRA", got "normal"/],
    [{ path: 'x', busyTimeout: -1 }, /SqliteBackend: busyTimeout must be an integer in 0\.\.2147483647, got number -1/],
    [{ path: 'x', readers: 1.5 }, /SqliteBackend: readers must be an integer in 0\.\.64, got number 1.5/],
    [{ path: 'x', acquireTimeoutMillis: '5' }, /acquireTimeoutMillis must be an integer/],
    [{ path: 'x', now: 5 }, /SqliteBackend: now must be a function, got number 5/],
    ['x.db', /SqliteBackend: options must be an object, got "x.db"/],
  ];
  for (const [options, message] of bad) {
    const error = throwsError(() => new SqliteBackend(options as never), InvalidOptionError, message);
    assert.is(error.code, 'ERR_INVALID_OPTION');
  }
});

test('a missing folder is created; a path that cannot be a database folder fails naming the file', async () => {
  const created = new SqliteBackend({ path: join(dir.path, 'missing', 'deeper', 'store.db') });
  await created.write({ type: 'T', id: 'a', kind: 'object', content: '{"json":{}}' });
  await created.close();
  writeFileSync(join(dir.path, 'plain-file'), 'not a folder');
  const path = join(dir.path, 'plain-file', 'store.db');
  throwsError(() => new SqliteBackend({ path }), Error, new RegExp(`cannot open ${path.replaceAll('/', '\\/')}`));
});

test.run();
