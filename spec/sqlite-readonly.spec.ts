// Read-only SQLite stores: readonly: true, a read-only filesystem, a file this process may not write.
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RecordWrite, StoredRecord } from '../src/backends/backend.js';
import { SqliteBackend } from '../src/backends/sqlite.js';
import { migrate, MIGRATIONS } from '../src/backends/sqlite-schema.js';
import { BackendError, CorruptDataError, InvalidOptionError, ReadOnlyError } from '../src/errors.js';
import { feedOf, IS_ROOT, readOnlyView, rejects, tempDir, throwsError } from './helpers.js';
import { assertOpensReadOnlyAsNobody, assertRefusesChanges } from './read-only.js';

const w = (id: string, content = `{"json":${JSON.stringify(id)}}`): RecordWrite => ({ type: 'Note', id, kind: 'object', content });

async function collect(records: AsyncIterable<StoredRecord>): Promise<string[]> {
  const seen: string[] = [];
  for await (const record of records) seen.push(`${record.type}/${record.id}`);
  return seen;
}

/** A closed store at `<folder>/app.db` holding Note a and b (no -wal or -shm left beside it). */
async function seed(folder: string): Promise<string> {
  const path = join(folder, 'app.db');
  const backend = new SqliteBackend({ path });
  await backend.writeMany([w('a'), w('b')]);
  await backend.close();
  return path;
}

const test = suite<{ dir: ReturnType<typeof tempDir> }>('SqliteBackend read-only', {} as never);
test.before.each((context) => {
  context.dir = tempDir('cuttle-sqlite-ro-');
});
test.after.each(({ dir }) => dir.remove());

test('readonly: true reads, lists and exports and sees other writers; every change throws ReadOnlyError naming the store', async ({ dir }) => {
  const path = await seed(dir.path);
  const before = readFileSync(path);
  const reader = new SqliteBackend({ path, readonly: true });
  const writer = new SqliteBackend({ path });
  try {
    assert.ok(reader.readonly);
    assert.not.ok(writer.readonly);
    assert.is((await reader.load('Note', 'a'))?.content, '{"json":"a"}');
    assert.equal(await reader.list('Note'), ['a', 'b']);
    assert.equal(await reader.listTypes(), ['Note']);
    assert.equal(await collect(reader.records()), ['Note/a', 'Note/b'], 'exports stream from a reader thread');
    await assertRefusesChanges(reader, 'Note', 'a', `sqlite:${path} is read-only (opened with readonly: true): it cannot be changed`);
    assert.ok(readFileSync(path).equals(before), 'the file is unchanged');
    const feed = feedOf(reader);
    assert.equal(feed.poll(), []);
    await writer.write(w('c'));
    assert.equal(feed.poll(), [{ type: 'Note', id: 'c', version: 1, deleted: false }], 'another connection\'s commit is seen');
    assert.equal(await reader.list('Note'), ['a', 'b', 'c']);
  } finally {
    await reader.close();
    await writer.close();
  }
});

test('readonly: true on a missing file: BackendError saying the store does not exist, and nothing is created', ({ dir }) => {
  const path = join(dir.path, 'sub', 'missing.db');
  const error = throwsError(() => new SqliteBackend({ path, readonly: true }), BackendError);
  assert.is(error.message, `sqlite:${path}: the store does not exist (no file ${path})`);
  assert.is(error.details.file, path);
  assert.equal(readdirSync(dir.path), []);
  throwsError(() => new SqliteBackend({ path: ':memory:', readonly: true }), InvalidOptionError, /readonly needs a database file/);
  throwsError(() => new SqliteBackend({ path, readonly: 1 as never }), InvalidOptionError, /SqliteBackend: readonly must be one of true, false, got number 1/);
  mkdirSync(join(dir.path, 'folder.db'));
  throwsError(() => new SqliteBackend({ path: join(dir.path, 'folder.db'), readonly: true }), BackendError, /folder\.db is a folder, not a database file/);
});

test('readonly: true never upgrades the schema: an older file is a ReadOnlyError saying so, a newer one CorruptDataError', ({ dir }) => {
  const old = join(dir.path, 'old.db');
  const db = new Database(old);
  db.exec('CREATE TABLE other (x)');
  db.close();
  const before = readFileSync(old);
  const error = throwsError(() => new SqliteBackend({ path: old, readonly: true }), ReadOnlyError);
  assert.match(error.message, `${old} has schema version 0 and must be upgraded to ${MIGRATIONS.length} first: open it once without readonly`);
  assert.ok(readFileSync(old).equals(before), 'not upgraded');
  const newer = join(dir.path, 'newer.db');
  const raw = new Database(newer);
  migrate(raw, newer);
  raw.pragma('user_version = 7');
  raw.close();
  throwsError(() => new SqliteBackend({ path: newer, readonly: true }), CorruptDataError, new RegExp(`schema version 7, newer than the ${MIGRATIONS.length}`));
});

test(`a WAL file on a read-only filesystem opens read-only by itself, from a copy in memory when there is no -shm (bug: SQLITE_CANTOPEN without the file name)${IS_ROOT ? '' : ' (skipped: needs root to mount one)'}`, async ({ dir }) => {
  if (!IS_ROOT) return;
  const folder = join(dir.path, 'data');
  mkdirSync(folder);
  await seed(folder);
  assert.equal(readdirSync(folder), ['app.db'], 'closed cleanly: no -wal, no -shm');
  const view = readOnlyView(folder);
  try {
    const path = join(view.path, 'app.db');
    const reader = new SqliteBackend({ path });
    try {
      assert.ok(reader.readonly);
      assert.is(reader.pool.max, 0, 'a copy no reader thread can open: exports page on the main thread');
      assert.is(reader.settings().journalMode, 'memory');
      assert.equal(await reader.list('Note'), ['a', 'b']);
      assert.equal(await collect(reader.records()), ['Note/a', 'Note/b']);
      const error = await rejects(reader.write(w('c')), ReadOnlyError);
      assert.is(error.message, `sqlite:${path} is read-only (on a read-only filesystem (EROFS writing ${path})): it cannot be changed`);
    } finally {
      await reader.close();
    }
    const explicit = new SqliteBackend({ path, readonly: true });
    assert.equal(await explicit.list('Note'), ['a', 'b']);
    await explicit.close();
  } finally {
    view.unmount();
  }
});

test(`on a read-only filesystem, a WAL file another process has open (-shm present) is read in place and its commits are seen${IS_ROOT ? '' : ' (skipped: needs root to mount one)'}`, async ({ dir }) => {
  if (!IS_ROOT) return;
  const folder = join(dir.path, 'data');
  mkdirSync(folder);
  const writer = new SqliteBackend({ path: join(folder, 'app.db') });
  const view = readOnlyView(folder);
  try {
    await writer.writeMany([w('a'), w('b')]);
    const reader = new SqliteBackend({ path: join(view.path, 'app.db') });
    try {
      assert.ok(reader.readonly);
      assert.is(reader.settings().journalMode, 'wal', 'not a copy');
      assert.equal(await reader.list('Note'), ['a', 'b']);
      const feed = feedOf(reader);
      feed.poll();
      await writer.write(w('c'));
      assert.equal(feed.poll(), [{ type: 'Note', id: 'c', version: 1, deleted: false }]);
      assert.equal(await reader.list('Note'), ['a', 'b', 'c']);
      assert.equal(await collect(reader.records()), ['Note/a', 'Note/b', 'Note/c'], 'reader threads open it too');
    } finally {
      await reader.close();
    }
  } finally {
    // First the writer: SQLite keeps the closed reader's descriptors of this inode open, so as
    // not to drop the process's locks on it, until the last connection to it closes.
    await writer.close();
    view.unmount();
  }
});

test(`on a read-only filesystem, a -wal holding commits without its -shm is a clear error, not stale data${IS_ROOT ? '' : ' (skipped: needs root to mount one)'}`, async ({ dir }) => {
  if (!IS_ROOT) return;
  const live = join(dir.path, 'live');
  const folder = join(dir.path, 'data');
  mkdirSync(live);
  mkdirSync(folder);
  const writer = new SqliteBackend({ path: join(live, 'app.db') });
  await writer.writeMany([w('a'), w('b')]);
  // A copy as a crash would leave it, without the -shm: the commits are in the -wal only.
  copyFileSync(join(live, 'app.db'), join(folder, 'app.db'));
  copyFileSync(join(live, 'app.db-wal'), join(folder, 'app.db-wal'));
  await writer.close();
  const view = readOnlyView(folder);
  try {
    const path = join(view.path, 'app.db');
    throwsError(() => new SqliteBackend({ path }), BackendError, /app\.db-wal holds commits that SQLite reads only through a app\.db-shm file, which it cannot create there/);
  } finally {
    view.unmount();
  }
  assert.not.ok(existsSync(join(folder, 'app.db-shm')));
});

test(`a file this process may not write opens read-only by itself${IS_ROOT ? '' : ' (skipped: needs root to run a child as another user)'}`, async ({ dir }) => {
  if (!IS_ROOT) return;
  const path = await seed(dir.path);
  assertOpensReadOnlyAsNobody('sqlite', path, dir.path, `sqlite:${path} is read-only (no permission to write (EACCES writing ${path})): it cannot be changed`);
});

test.run();
