// The `cuttle` command end to end: the built dist/cli.js run as a child process, as a user runs it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SqliteBackend, Store } from '../src/index.js';
import { CLI, cuttle, Folder, Note } from './cli-helpers.js';
import { tempDir } from './helpers.js';

async function seed(path: string): Promise<void> {
  const store = new Store({ backend: new SqliteBackend({ path }) });
  const folder = new Folder('inbox');
  folder.notes = [Object.assign(new Note('a'), { text: 'first', when: new Date(7) }), Object.assign(new Note('b'), { text: 'second' })];
  await store.save(folder);
  await store.close();
}

const test = suite<{ dir: ReturnType<typeof tempDir> }>('cli', {} as never);
test.before.each((context) => {
  context.dir = tempDir('cuttle-cli-');
});
test.after.each(({ dir }) => dir.remove());

test('the built CLI exists (npm test builds first)', () => {
  assert.ok(existsSync(CLI), `${CLI} missing: run npm run build`);
});

test('export, import and verify round-trip a SQLite store through a dump file', async ({ dir }) => {
  const db = join(dir.path, 'app.db');
  await seed(db);
  const dump = join(dir.path, 'dump.ndjson');
  const exported = cuttle(['export', db, dump, '--no-timestamp']);
  assert.is(exported.code, 0, exported.stderr);
  assert.match(exported.stderr, /exported 3 objects/);
  const text = readFileSync(dump, 'utf8');
  assert.is(text.split('\n')[0], `{"format":"cuttle-dump","version":1,"source":"sqlite:${db}"}`);

  const copy = join(dir.path, 'copy.sqlite');
  const imported = cuttle(['import', copy, dump, '--quiet']);
  assert.is(imported.code, 0, imported.stderr);
  assert.is(imported.stderr, '');
  const again = cuttle(['export', `sqlite:${copy}`, '-q']);
  assert.is(again.code, 0);
  assert.is(again.stdout.split('\n').slice(1).join('\n'), text.split('\n').slice(1).join('\n'), 'same records, byte for byte');

  const verified = cuttle(['verify', copy]);
  assert.is(verified.code, 0);
  assert.match(verified.stdout, /checked 3 objects: no problems/);
});

test('import from standard input with --mode replace', async ({ dir }) => {
  const db = join(dir.path, 'app.db');
  await seed(db);
  const dump = cuttle(['export', db, '-q']).stdout;
  const target = join(dir.path, 'target.db');
  const store = new Store({ backend: new SqliteBackend({ path: target }) });
  await store.save(new Note('stale'));
  await store.close();
  const result = cuttle(['import', target, '-', '--mode', 'replace', '-q'], dump);
  assert.is(result.code, 0, result.stderr);
  const stats = JSON.parse(cuttle(['stats', target, '--json']).stdout);
  assert.equal(Object.keys(stats.types), ['Folder', 'Note']);
  assert.is(stats.types.Note.objects, 2, 'the stale note is gone');
});

test('migrate copies one store into another', async ({ dir }) => {
  const from = join(dir.path, 'from.db');
  await seed(from);
  const to = join(dir.path, 'to.db');
  const result = cuttle(['migrate', from, `sqlite:${to}`]);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stderr, /migrated 3 objects/);
  const store = new Store({ backend: new SqliteBackend({ path: to }) });
  store.register(Note);
  const folder = await store.load(Folder, 'inbox');
  assert.equal(folder.notes.map((n) => n.text), ['first', 'second']);
  assert.equal(folder.notes[0]!.when, new Date(7));
  await store.close();
});

test('migrate SQLite -> file store -> SQLite; a folder is a file store', async ({ dir }) => {
  const from = join(dir.path, 'from.db');
  await seed(from);
  const folder = join(dir.path, 'files');
  assert.is(cuttle(['migrate', from, `file:${folder}`, '-q']).code, 0);
  assert.ok(existsSync(join(folder, 'Note')), 'one folder per type');
  const verified = cuttle(['verify', folder]);
  assert.is(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /checked 3 objects/);
  const back = join(dir.path, 'back.db');
  assert.is(cuttle(['migrate', folder, back, '-q']).code, 0);
  assert.is(cuttle(['export', back, '-q', '--no-timestamp']).stdout.split('\n').slice(1).join('\n'), cuttle(['export', from, '-q', '--no-timestamp']).stdout.split('\n').slice(1).join('\n'));
  const stats = JSON.parse(cuttle(['stats', folder, '--json']).stdout);
  assert.is(stats.total.objects, 3);
  assert.ok(stats.bytesOnDisk > 0);
});

test('a damaged file in a file store: verify reports it (exit 3), export fails or skips it with --skip-corrupt', async ({ dir }) => {
  const from = join(dir.path, 'from.db');
  await seed(from);
  const folder = join(dir.path, 'files');
  assert.is(cuttle(['migrate', from, `file:${folder}`, '-q']).code, 0);
  const damaged = join(folder, 'Note', 'a.json');
  writeFileSync(damaged, '{"type":"Note","id":"a", this is not JSON');
  const verified = cuttle(['verify', folder]);
  assert.is(verified.code, 3, verified.stderr);
  assert.match(verified.stdout, /checked 3 objects: 1 problem$/m);
  assert.match(verified.stdout, new RegExp(`unreadable  Note "a": .*${damaged.replaceAll('/', '\\/')}`));
  const failed = cuttle(['export', folder, join(dir.path, 'out.ndjson'), '-q']);
  assert.is(failed.code, 1);
  assert.match(failed.stderr, /ERR_CORRUPT_DATA/);
  assert.not.ok(existsSync(join(dir.path, 'out.ndjson')), 'no partial dump');
  const skipped = cuttle(['export', folder, join(dir.path, 'out.ndjson'), '-q', '--skip-corrupt']);
  assert.is(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stderr, /skipped: .*a\.json[\s\S]*1 damaged object left out of the dump/);
  assert.is(readFileSync(join(dir.path, 'out.ndjson'), 'utf8').trim().split('\n').length, 4, 'header, two records, trailer');
});

test('stats reports objects, containers, versions and size on disk', async ({ dir }) => {
  const db = join(dir.path, 'app.db');
  await seed(db);
  const result = cuttle(['stats', db]);
  assert.is(result.code, 0, result.stderr);
  assert.match(result.stdout, /^Folder\s+1\s+1\s/m);
  assert.match(result.stdout, /^Note\s+2\s+0\s/m);
  assert.match(result.stdout, /^total\s+3\s+1\s/m);
  const json = JSON.parse(cuttle(['stats', db, '--json']).stdout);
  assert.ok(json.bytesOnDisk > 0);
  assert.is(json.total.maxVersion, 1);
});

test('verify exits 3 and names dangling references', async ({ dir }) => {
  const db = join(dir.path, 'app.db');
  await seed(db);
  const store = new Store({ backend: new SqliteBackend({ path: db }) });
  await store.delete(Note, 'b');
  await store.close();
  const result = cuttle(['verify', db]);
  assert.is(result.code, 3);
  assert.match(result.stdout, /dangling\s+Folder "inbox" at notes\[1\] -> Note "b"/);
  const json = JSON.parse(cuttle(['verify', db, '--json']).stdout);
  assert.is(json.dangling.length, 1);
});

test('a damaged dump fails with exit 1 and the line number, changing nothing', async ({ dir }) => {
  const db = join(dir.path, 'app.db');
  await seed(db);
  const lines = cuttle(['export', db, '-q']).stdout.split('\n');
  const truncated = join(dir.path, 'truncated.ndjson');
  writeFileSync(truncated, lines.slice(0, 3).join('\n') + '\n');
  const target = join(dir.path, 'target.db');
  const result = cuttle(['import', target, truncated, '-q']);
  assert.is(result.code, 1);
  assert.match(result.stderr, /dump line 4: no trailer line after 2 records: the dump is truncated \(ERR_DUMP_FORMAT\)/);
  assert.is(JSON.parse(cuttle(['stats', target, '--json']).stdout).total.objects, 0);
});

test('usage errors exit 2 with help; --help and --version exit 0', () => {
  const none = cuttle([]);
  assert.is(none.code, 2);
  assert.match(none.stdout, /Usage: cuttle <command>/);
  assert.is(cuttle(['frobnicate']).code, 2);
  const badOption = cuttle(['export', 'x.db', '--bogus']);
  assert.is(badOption.code, 2);
  assert.match(badOption.stderr, /Unknown option '--bogus'[\s\S]*Usage: cuttle export/);
  const unknownKind = cuttle(['stats', 'no-such-thing']);
  assert.is(unknownKind.code, 2);
  assert.match(unknownKind.stderr, /write sqlite:no-such-thing or file:no-such-thing/);
  assert.is(cuttle(['import', 'x.db']).code, 2, 'missing argument');
  assert.is(cuttle(['import', 'x.db', 'f', '--mode', 'upsert']).code, 2);
  const help = cuttle(['migrate', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Usage: cuttle migrate <from> <to>/);
  const version = cuttle(['--version']);
  assert.is(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test.run();
