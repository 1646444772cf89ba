// The `cuttle` command end to end: the built dist/cli.js run as a child process, as a user runs it.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { migrate } from '../src/cli.js';
import { FileBackend, SqliteBackend, Store, type StoredRecord } from '../src/index.js';
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

test('--namespace: export, import, migrate and verify work in one namespace; stats lists every namespace', async ({ dir }) => {
  const db = join(dir.path, 'app.db');
  await seed(db);
  const billing = new Store({ backend: new SqliteBackend({ path: db }), namespace: 'billing' });
  await billing.save(Object.assign(new Note('invoice'), { text: 'billed' }));
  await billing.close();

  const exported = cuttle(['export', db, '-q', '--namespace', 'billing']);
  assert.is(exported.code, 0, exported.stderr);
  const lines = exported.stdout.trim().split('\n');
  assert.is(JSON.parse(lines[0]!).namespace, 'billing', 'the header names the namespace');
  assert.equal(lines.slice(1, -1).map((line) => JSON.parse(line).type + '/' + JSON.parse(line).id), ['Note/invoice'], 'plain types, that namespace only');
  const plainDump = cuttle(['export', db, '-q']).stdout.trim().split('\n');
  assert.is(plainDump.length, 5, 'the default namespace: header, folder, two notes, trailer');

  const dumpFile = join(dir.path, 'billing.ndjson');
  writeFileSync(dumpFile, exported.stdout);
  const imported = cuttle(['import', db, dumpFile, '-q', '-n', 'archive']);
  assert.is(imported.code, 0, imported.stderr);
  const copied = cuttle(['migrate', db, db, '-q', '--namespace', 'billing', '--to-namespace', 'copy']);
  assert.is(copied.code, 0, copied.stderr);

  const stats = JSON.parse(cuttle(['stats', db, '--json']).stdout);
  assert.equal(Object.keys(stats.namespaces), ['', 'archive', 'billing', 'copy']);
  assert.equal(Object.keys(stats.namespaces[''].types), ['Folder', 'Note']);
  assert.is(stats.namespaces.archive.types.Note.objects, 1);
  assert.is(stats.namespaces.copy.total.objects, 1);
  assert.is(stats.total.objects, 6);
  const text = cuttle(['stats', db]).stdout;
  assert.match(text, /^billing:Note\s+1\s/m);
  assert.match(text, /^namespaces\s+\(default\) 3 objects, archive 1 object, billing 1 object, copy 1 object$/m);
  const one = JSON.parse(cuttle(['stats', db, '--json', '-n', 'copy']).stdout);
  assert.equal(Object.keys(one.namespaces), ['copy']);
  assert.equal(Object.keys(one.types), ['Note']);

  const verified = cuttle(['verify', db, '--json', '--namespace', 'archive']);
  assert.is(verified.code, 0, verified.stderr);
  assert.is(JSON.parse(verified.stdout).checked, 1);
  const bad = cuttle(['export', db, '--namespace', 'no:colons']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /--namespace: invalid namespace "no:colons"/);
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

test('export, import and migrate refuse a store\'s own files (bug: "cuttle export app.db app.db" overwrote the database and exited 0)', async ({ dir }) => {
  const db = join(dir.path, 'app.db');
  await seed(db);
  const before = readFileSync(db);
  const exported = cuttle(['export', db, db]);
  assert.is(exported.code, 1);
  assert.match(exported.stderr, new RegExp(`exportTo: the destination ${db} is part of the store sqlite:${db}: the dump would overwrite it \\(ERR_INVALID_OPTION\\)`));
  assert.equal(readFileSync(db), before, 'the database is unchanged');
  assert.is(cuttle(['import', db, db]).code, 1);
  const same = cuttle(['migrate', db, `sqlite:${db}`]);
  assert.is(same.code, 1);
  assert.match(same.stderr, new RegExp(`migrate: ${db} and sqlite:${db} overlap`));
  const folder = join(dir.path, 'files');
  assert.is(cuttle(['migrate', db, `file:${folder}`, '-q']).code, 0);
  const into = cuttle(['migrate', folder, `sqlite:${join(folder, 'inside.db')}`]);
  assert.is(into.code, 1);
  assert.match(into.stderr, /overlap/);
  assert.not.ok(readdirSync(folder).includes('inside.db'), 'nothing was created inside the source');
  const around = cuttle(['migrate', `sqlite:${join(folder, 'x.db')}`, `file:${folder}`]);
  assert.is(around.code, 1, around.stderr);
  assert.match(around.stderr, /overlap/);
  assert.is(cuttle(['export', folder, join(folder, 'dump.ndjson')]).code, 1);
  assert.match(cuttle(['verify', db]).stdout, /checked 3 objects: no problems/);
});

test('stats, verify, export and migrate fail on a store that does not exist, creating nothing; import creates its target (bug: they made an empty store and called it healthy)', ({ dir }) => {
  const db = join(dir.path, 'missing.db');
  const folder = join(dir.path, 'no', 'such', 'dir');
  const commands = [
    ['stats', db],
    ['verify', `file:${folder}`],
    ['export', db, join(dir.path, 'out.ndjson')],
    ['export', `file:${folder}`],
    ['migrate', db, join(dir.path, 'to.db')],
  ];
  for (const args of commands) {
    const result = cuttle(args);
    assert.is(result.code, 1, `${args.join(' ')}: ${result.stdout}`);
    assert.match(result.stderr, /: the store does not exist \(no (file|folder) .*\) \(ERR_BACKEND\)$/m);
  }
  assert.match(cuttle(['stats', db]).stderr, new RegExp(`^cuttle stats: sqlite:${db}: the store does not exist \\(no file ${db}\\)`));
  assert.equal(readdirSync(dir.path), [], 'nothing was created');
  const dump = join(dir.path, 'empty.ndjson');
  writeFileSync(dump, '{"format":"cuttle-dump","version":1}\n{"format":"cuttle-dump-end","count":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}\n');
  assert.is(cuttle(['import', db, dump, '-q']).code, 0);
  assert.match(cuttle(['verify', db]).stdout, /checked 0 objects: no problems/);
});

test('migrate counts progress as the target stores records, out of the source\'s count (bug: it counted the export, at 98% in 2 s, then froze while the files were written)', async ({ dir }) => {
  const from = new Store({ backend: new SqliteBackend({ path: join(dir.path, 'from.db') }) });
  await from.saveMany(Array.from({ length: 2500 }, (_, i) => Object.assign(new Note(`n${String(i).padStart(4, '0')}`), { text: 'x'.repeat(200) })));
  /** A file store that counts the records it has written. */
  class CountingFiles extends FileBackend {
    stored = 0;
    override async putMany(records: Iterable<StoredRecord>): Promise<void> {
      const all = [...records];
      await super.putMany(all);
      this.stored += all.length;
    }
  }
  const target = new CountingFiles({ path: join(dir.path, 'files'), durable: false });
  const to = new Store({ backend: target, cache: false });
  const seen: Array<{ done: number; total: number | undefined; stored: number }> = [];
  const summary = await migrate(from, to, { mode: 'merge', onProgress: ({ done, total }) => seen.push({ done, total, stored: target.stored }) });
  assert.is(summary.count, 2500);
  assert.equal(seen.map((s) => s.done), [1000, 2000, 2500]);
  assert.ok(seen.every((s) => s.total === 2500), 'out of the source\'s count');
  for (const { done, stored } of seen.slice(0, -1)) assert.ok(done <= stored + 256, `at ${done} reported, ${stored} stored: at most one chunk of 256 ahead`);
  assert.is(seen.at(-1)!.stored, 2500);
  await from.close();
  await to.close();
});

test('a reader of standard output that goes away does not crash the command (bug: cuttle stats x.db | head printed an unhandled EPIPE stack)', async ({ dir }) => {
  const db = join(dir.path, 'types.db');
  const backend = new SqliteBackend({ path: db });
  // 1,000 types: the stats JSON (~140 KB) cannot fit in the pipe's buffer once head has gone.
  await backend.writeMany(Array.from({ length: 1000 }, (_, i) => ({ type: `Type${i}`, id: 'x', kind: 'object' as const, content: '{"json":{}}' })));
  await backend.close();
  const result = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" stats "${db}" --json | head -c 10`], { encoding: 'utf8' });
  assert.is(result.stdout, '{\n  "store');
  assert.not.match(result.stderr, /Unhandled|EPIPE|at /);
});

test('wording: "1 object", "1 argument", KiB/MiB labels, a prefix without a path (bugs: "1 objects", "expected 1 arguments", MiB printed as MB, sqlite: suggested sqlite:sqlite:)', async ({ dir }) => {
  const db = join(dir.path, 'one.db');
  const store = new Store({ backend: new SqliteBackend({ path: db }) });
  await store.save(new Note('only'));
  await store.close();
  const verified = cuttle(['verify', db]);
  assert.is(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /^checked 1 object: no problems$/m);
  const exported = cuttle(['export', db, join(dir.path, 'one.ndjson')]);
  assert.match(exported.stderr, /^exported 1 object in /m);
  const stats = cuttle(['stats', db]);
  assert.match(stats.stdout, /^disk\s+\d+\.\d KiB$/m, 'binary units are labelled KiB, MiB, GiB');
  const missing = cuttle(['stats']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /expected 1 argument, got 0/);
  for (const [spec, example] of [['sqlite:', 'sqlite:./app.db'], ['file:', 'file:./data']]) {
    const empty = cuttle(['export', spec!]);
    assert.is(empty.code, 2);
    assert.match(empty.stderr, new RegExp(`"${spec}" needs a path after the prefix: ${example!.replace('.', '\\.')}`));
    assert.not.match(empty.stderr, /sqlite:sqlite:/);
  }
});

test.run();
