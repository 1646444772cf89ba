// Store.backup / Storage.backup and `cuttle backup` / `cuttle restore` (issue #21): a consistent
// copy while another process keeps saving. The writer (spec/fixtures/backup-writer.ts) saves
// Written 1, 2, 3, ... and acknowledges each; a backup must open, verify, and hold exactly the
// saves 1..k for some k between the last acknowledged before it began and the last one at all,
// each whole (its body is a function of its seq).
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FileBackend, InMemoryBackend, InvalidOptionError, Serializable, SqliteBackend, Storage, Store, type BackupProgress, type StorageBackend } from '../src/index.js';
import { PostgresBackend } from '../src/postgres.js';
import { bodyOf, idOf, written, Written } from './backup-data.js';
import { cuttle } from './cli-helpers.js';
import { rejects, tempDir } from './helpers.js';
import { dropSchema, freshSchema, PG_URL } from './postgres-server.js';

const WRITER = fileURLToPath(new URL('./fixtures/backup-writer.ts', import.meta.url));

class Seed extends Serializable {
  n = 0;
  body = '';
}
const seeds = (count: number, bytes: number) => Array.from({ length: count }, (_, n) => Object.assign(new Seed(`s${n}`), { n, body: 'x'.repeat(bytes) }));

/** The writer process on a store; `acked` is the last seq it acknowledged. */
function startWriter(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let acked = 0;
  let errors = '';
  let buffered = '';
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) acked = Number(line);
    for (const waiter of waiters.filter((w) => acked >= w.n)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    get acked() {
      return acked;
    },
    /** Resolves once `n` saves are acknowledged; rejects if the writer dies first. */
    waitFor: (n: number) =>
      Promise.race([
        new Promise<void>((resolve) => (acked >= n ? resolve() : waiters.push({ n, resolve }))),
        exited.then((code) => {
          throw new Error(`the writer exited (${code}) after ${acked} saves: ${errors}`);
        }),
      ]),
    /** Stops the writer; resolves with its last acknowledged seq. */
    stop: async () => {
      child.stdin.end();
      const code = await exited;
      assert.is(code, 0, errors);
      return acked;
    },
  };
}

/** Checks a backup's content: it verifies, its seeds are whole, and it holds exactly saves 1..k with before <= k <= last. */
async function checkBackup(copy: Store, seedCount: number, before: number, last: number): Promise<number> {
  copy.register(Written, Seed);
  const report = await copy.verify();
  assert.equal(report.unreadable, []);
  assert.is(await copy.count(Seed), seedCount);
  const ids = await copy.list(Written);
  const k = ids.length;
  assert.ok(k >= before, `the backup holds ${k} saves, fewer than the ${before} acknowledged before it began`);
  assert.ok(k <= last, `the backup holds ${k} saves, more than the writer ever made (${last})`);
  ids.forEach((id, i) => assert.is(id, idOf(i + 1), 'the saves in the backup are not a prefix 1..k'));
  for (const id of ids) {
    const saved = await copy.load(Written, id, { cache: false });
    assert.is(idOf(saved.seq), id);
    assert.ok(saved.body === bodyOf(saved.seq), `${id}: torn body`);
    assert.is(saved.when.getTime(), saved.seq);
  }
  return k;
}

/**
 * The writer on `args` saves while `store` (on the same data, another process's connection) is
 * backed up to `destination`; returns what the writer had acknowledged around the backup.
 */
async function backupWhileWriting(store: Store, args: string[], destination: string, progress: BackupProgress[]) {
  const writer = startWriter(args);
  try {
    await writer.waitFor(20);
    const before = writer.acked;
    await store.backup(destination, { onProgress: (p) => progress.push(p) });
    const after = writer.acked;
    await writer.waitFor(after + 10);
    return { before, during: after - before, last: await writer.stop() };
  } catch (error) {
    await writer.stop().catch(() => {});
    throw error;
  }
}

const test = suite('backup');

test('SQLite: a backup while another process saves opens as a store, verifies and holds a prefix of the acknowledged saves, none torn', async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'app.db');
    const store = new Store({ backend: new SqliteBackend({ path }) });
    // ~10 MB: several steps of the online backup, so the writer's commits land during the copy.
    await store.saveMany(seeds(2500, 4000));
    const progress: BackupProgress[] = [];
    const destination = join(dir.path, 'backup.db');
    const { before, last } = await backupWhileWriting(store, ['sqlite', path], destination, progress);
    await store.close();
    assert.ok(progress.length >= 2);
    assert.ok(progress.every((p) => p.unit === 'pages' && p.total! > 2000));
    assert.equal(progress.at(-1)!.done, progress.at(-1)!.total);
    assert.not.ok(existsSync(`${destination}-wal`), 'the backup is one file');
    const copy = new Store({ backend: new SqliteBackend({ path: destination }) });
    await checkBackup(copy, 2500, before, last);
    await copy.close();
  } finally {
    dir.remove();
  }
});

test('file store: the backup is a dump holding a prefix of the acknowledged saves, none torn', async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'objects');
    const store = new Store({ backend: new FileBackend({ path }) });
    await store.saveMany(seeds(100, 2000));
    const progress: BackupProgress[] = [];
    const destination = join(dir.path, 'backup.ndjson');
    const { before, last } = await backupWhileWriting(store, ['file', path], destination, progress);
    await store.close();
    assert.ok(progress.length >= 1 && progress.every((p) => p.unit === 'records'));
    const copy = new Store();
    await copy.importFrom(destination);
    await checkBackup(copy, 100, before, last);
  } finally {
    dir.remove();
  }
});

test('PostgreSQL: the backup is a dump from one snapshot holding a prefix of the acknowledged saves, none torn', async () => {
  const dir = tempDir();
  const schema = freshSchema('backup');
  try {
    const store = new Store({ backend: new PostgresBackend({ connectionString: PG_URL, schema }) });
    await store.saveMany(seeds(300, 2000));
    const destination = join(dir.path, 'backup.ndjson');
    const { before, last } = await backupWhileWriting(store, ['postgres', PG_URL, schema], destination, []);
    await store.close();
    const copy = new Store();
    await copy.importFrom(destination);
    await checkBackup(copy, 300, before, last);
  } finally {
    await dropSchema(schema);
    dir.remove();
  }
});

test('memory: the dump is the store as of the backup\'s first read; saves made meanwhile are not in it', async () => {
  const dir = tempDir();
  try {
    const store = new Store({ backend: new InMemoryBackend() });
    await store.saveMany([1, 2, 3].map(written));
    const destination = join(dir.path, 'memory.ndjson');
    let seq = 3;
    const backingUp = store.backup(destination, { onProgress: () => {} });
    const saving = (async () => {
      while (seq < 50) await store.save(written(++seq));
    })();
    const summary = await backingUp;
    await saving;
    assert.is(summary.format, 'dump');
    assert.is(summary.destination, destination);
    const copy = new Store();
    await copy.importFrom(destination);
    const k = await checkBackup(copy, 0, 3, 50);
    assert.is(summary.count, k);
  } finally {
    dir.remove();
  }
});

test('Storage.backup backs up the default store; a SQLite backup summary counts its records', async () => {
  const dir = tempDir();
  try {
    Storage.configure('sqlite', { path: join(dir.path, 'default.db') });
    await Storage.saveMany([1, 2].map(written));
    const summary = await Storage.backup(join(dir.path, 'copy.db'));
    assert.equal(summary, { format: 'sqlite', destination: join(dir.path, 'copy.db'), count: 2 });
    await Storage.close();
  } finally {
    Storage.configure('memory');
    dir.remove();
  }
});

test('close() while a SQLite backup runs lets it finish', async () => {
  const dir = tempDir();
  try {
    const store = new Store({ backend: new SqliteBackend({ path: join(dir.path, 'a.db') }) });
    await store.saveMany(seeds(1500, 4000));
    const backingUp = store.backup(join(dir.path, 'b.db'));
    await store.close();
    assert.is((await backingUp).count, 1500);
  } finally {
    dir.remove();
  }
});

test('a backup refuses a destination inside the store, beside a database in use, or bad options', async () => {
  const dir = tempDir();
  const stores: Store[] = [];
  const open = (backend: StorageBackend) => {
    const store = new Store({ backend });
    stores.push(store);
    return store;
  };
  try {
    const sqlite = open(new SqliteBackend({ path: join(dir.path, 'a.db') }));
    await rejects(sqlite.backup(join(dir.path, 'a.db')), InvalidOptionError, /is part of the store/);
    await rejects(sqlite.backup(join(dir.path, 'a.db-wal')), InvalidOptionError, /is part of the store/);
    writeFileSync(join(dir.path, 'busy.db-wal'), '');
    await rejects(sqlite.backup(join(dir.path, 'busy.db')), InvalidOptionError, /busy\.db-wal exists/);
    await rejects(sqlite.backup(join(dir.path, 'x.db'), { progress: () => {} } as never), InvalidOptionError, /unknown option "progress"/);
    await rejects(sqlite.backup(''), InvalidOptionError, /must be a file path/);
    const files = open(new FileBackend({ path: join(dir.path, 'objects') }));
    await rejects(files.backup(join(dir.path, 'objects', 'x.ndjson')), InvalidOptionError, /part of the store/);
    assert.not.ok(existsSync(join(dir.path, 'x.db')));
  } finally {
    for (const store of stores) await store.close();
    dir.remove();
  }
});

test('cuttle backup and cuttle restore: SQLite to a database file and back into a file store; a dump into SQLite; merge and replace', async () => {
  const dir = tempDir();
  try {
    const source = join(dir.path, 'app.db');
    const store = new Store({ backend: new SqliteBackend({ path: source }) });
    await store.saveMany([1, 2, 3].map(written));
    await store.close();
    const copy = join(dir.path, 'copy.db');
    let result = cuttle(['backup', source, copy]);
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stderr, /a SQLite database of 3 objects/);
    const restored = join(dir.path, 'restored');
    result = cuttle(['restore', copy, `file:${restored}`, '--quiet']);
    assert.is(result.code, 0, result.stderr);
    const files = new Store({ backend: new FileBackend({ path: restored }) });
    files.register(Written);
    await checkBackup(files, 0, 3, 3);
    await files.save(written(9));
    await files.close();

    const dump = join(dir.path, 'files.ndjson');
    result = cuttle(['backup', `file:${restored}`, dump, '-q']);
    assert.is(result.code, 0, result.stderr);
    const target = join(dir.path, 'target.db');
    const other = new Store({ backend: new SqliteBackend({ path: target }) });
    await other.save(written(7));
    await other.close();
    result = cuttle(['restore', dump, target, '--mode', 'merge', '-q']);
    assert.is(result.code, 0, result.stderr);
    let check = new Store({ backend: new SqliteBackend({ path: target }) });
    assert.equal(await check.list(Written), [1, 2, 3, 7, 9].map(idOf));
    await check.close();
    result = cuttle(['restore', dump, target, '-q']);
    assert.is(result.code, 0, result.stderr);
    check = new Store({ backend: new SqliteBackend({ path: target }) });
    assert.equal(await check.list(Written), [1, 2, 3, 9].map(idOf));
    await check.close();

    result = cuttle(['restore', join(dir.path, 'restored', 'x'), `file:${restored}`]);
    assert.is(result.code, 1);
    assert.match(result.stderr, /is part of the store/);
    result = cuttle(['restore', join(dir.path, 'missing.db'), target]);
    assert.is(result.code, 1);
    assert.match(result.stderr, /cannot read the backup/);
  } finally {
    dir.remove();
  }
});

test.run();
