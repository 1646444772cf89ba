import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BackendError, Container, InvalidOptionError, DumpFormatError, FileBackend, InMemoryBackend, Serializable, SqliteBackend, Store, recordLine, type BackendCapabilities, type StoredRecord } from '../src/index.js';
import { rejects, tempDir } from './helpers.js';

class Note extends Serializable {
  text = '';
  when = new Date(0);
}
class Box extends Container {
  items: Note[] = [];
}

/** A memory backend whose imports are not atomic, like the file backend's. */
class PlainImportBackend extends InMemoryBackend {
  override get capabilities(): BackendCapabilities {
    return { ...super.capabilities, atomicBatch: false, atomicImport: false };
  }
  override importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    return Object.getPrototypeOf(InMemoryBackend.prototype).importRecords.call(this, records, options);
  }
}

async function filledStore(backend = new InMemoryBackend()): Promise<Store> {
  const store = new Store({ backend });
  const box = new Box('box');
  box.items = [Object.assign(new Note('n1'), { text: 'one\n"quoted"\u2028' }), Object.assign(new Note('../n2'), { when: new Date(5) })];
  await store.save(box);
  await store.save(Object.assign(new Note('n1'), { text: 'one, v2' }));
  return store;
}

const dumpText = async (store: Store, options?: { timestamp?: boolean }) => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk) => chunks.push(chunk));
  await store.exportTo(out, options);
  return Buffer.concat(chunks).toString('utf8');
};

const lines = (text: string) => text.trimEnd().split('\n');
const fromText = (text: string) => Readable.from([Buffer.from(text)]);

const test = suite('dumps');

test('export writes a header, ordered records and a trailer; import restores them exactly', async () => {
  const source = await filledStore();
  const text = await dumpText(source);
  const [header, ...rest] = lines(text);
  const trailer = JSON.parse(rest.pop()!);
  const headerValue = JSON.parse(header!);
  assert.is(headerValue.format, 'cuttle-dump');
  assert.is(headerValue.version, 1);
  assert.type(headerValue.createdAt, 'number');
  assert.is(headerValue.source, 'memory');
  assert.equal(rest.map((line) => JSON.parse(line)).map((r) => `${r.type}/${r.id}/v${r.version}`), ['Box/box/v1', 'Note/../n2/v1', 'Note/n1/v2']);
  assert.equal(Object.keys(JSON.parse(rest[0]!)), ['type', 'id', 'kind', 'version', 'updatedAt', 'content']);
  assert.equal({ format: trailer.format, count: trailer.count }, { format: 'cuttle-dump-end', count: 3 });
  assert.match(trailer.sha256, /^[0-9a-f]{64}$/);

  const target = new Store({ registry: source.registry });
  assert.equal(await target.importFrom(fromText(text)), { count: 3 });
  assert.equal((await target.exportData()).records, (await source.exportData()).records, 'records identical, versions included');
  const box = await target.load(Box, 'box');
  assert.is(box.items[0]!.text, 'one, v2');
  assert.equal(box.items[1]!.when, new Date(5));
});

test('two dumps of one store are identical files with timestamp: false', async () => {
  const store = await filledStore();
  const dir = tempDir();
  try {
    await store.exportTo(join(dir.path, 'a.ndjson'), { timestamp: false });
    await store.exportTo(join(dir.path, 'b.ndjson'), { timestamp: false });
    const a = readFileSync(join(dir.path, 'a.ndjson'));
    assert.ok(a.equals(readFileSync(join(dir.path, 'b.ndjson'))));
    const target = new Store({ registry: store.registry });
    await target.importFrom(join(dir.path, 'a.ndjson'));
    await target.exportTo(join(dir.path, 'c.ndjson'), { timestamp: false });
    assert.ok(a.equals(readFileSync(join(dir.path, 'c.ndjson'))), 'a re-export of the import is the same file');
  } finally {
    dir.remove();
  }
});

test('mode: merge keeps other objects, replace leaves exactly the dump', async () => {
  const text = await dumpText(await filledStore());
  const merged = new Store();
  await merged.save(Object.assign(new Note('extra'), { text: 'mine' }));
  await merged.importFrom(fromText(text));
  assert.equal(await merged.listAll(), { Box: ['box'], Note: ['../n2', 'extra', 'n1'] });
  const replaced = new Store();
  await replaced.save(Object.assign(new Note('extra'), { text: 'mine' }));
  await replaced.importFrom(fromText(text), { mode: 'replace' });
  assert.equal(await replaced.listAll(), { Box: ['box'], Note: ['../n2', 'n1'] });
});

test('import empties the cache', async () => {
  const store = await filledStore();
  const text = await dumpText(store);
  const cached = await store.load(Note, 'n1');
  cached.text = 'unsaved change';
  await store.importFrom(fromText(text));
  assert.is((await store.load(Note, 'n1')).text, 'one, v2');
  assert.is.not(await store.load(Note, 'n1'), cached);
});

test('exportData / importData keep a dump in memory, as an object or NDJSON text', async () => {
  const source = await filledStore();
  const dump = await source.exportData();
  assert.is(dump.records.length, 3);
  const target = new Store({ registry: source.registry });
  assert.equal(await target.importData(JSON.parse(JSON.stringify(dump))), { count: 3 });
  assert.equal((await target.exportData()).records, dump.records);
  const fromNdjson = new Store();
  await fromNdjson.importData(await dumpText(source));
  assert.is(await fromNdjson.count(Note), 2);
});

/** Dumps that must fail with DumpFormatError naming the line. */
const header = '{"format":"cuttle-dump","version":1}';
const rec = (fields: Record<string, unknown>) => JSON.stringify({ type: 'Note', id: 'a', kind: 'object', version: 1, updatedAt: 0, content: '{"json":{}}', ...fields });
const hostile: Record<string, { text: string; line: number; message: RegExp }> = {
  empty: { text: '', line: 1, message: /empty/ },
  'not a dump': { text: '{"hello":1}\n', line: 1, message: /not a cuttle dump/ },
  'newer version': { text: '{"format":"cuttle-dump","version":2}\n', line: 1, message: /unsupported dump version 2/ },
  'truncated (no trailer)': { text: `${header}\n${rec({})}\n`, line: 3, message: /truncated/ },
  'cut mid-line': { text: `${header}\n${rec({}).slice(0, 30)}`, line: 2, message: /not valid JSON/ },
  'invalid id': { text: `${header}\n${rec({ id: 'a\u0000b' })}\n`, line: 2, message: /Invalid id/ },
  'empty id': { text: `${header}\n${rec({ id: '' })}\n`, line: 2, message: /Invalid id/ },
  'invalid type': { text: `${header}\n${rec({ type: '../etc' })}\n`, line: 2, message: /Invalid type name/ },
  'unknown kind': { text: `${header}\n${rec({ kind: 'table' })}\n`, line: 2, message: /kind must be/ },
  'bad version': { text: `${header}\n${rec({ version: 0 })}\n`, line: 2, message: /version must be/ },
  'content not a string': { text: `${header}\n${rec({ content: { json: 1 } })}\n`, line: 2, message: /content must be a string/ },
  'content not a document': { text: `${header}\n${rec({ content: '{"x":1}' })}\n`, line: 2, message: /not a cuttle document/ },
  '__proto__ field': { text: `${header}\n{"__proto__":{"polluted":1},"type":"Note","id":"a","kind":"object","version":1,"updatedAt":0,"content":"{\\"json\\":{}}"}\n`, line: 2, message: /unknown field "__proto__"/ },
  'constructor field': { text: `${header}\n${rec({}).slice(0, -1)},"constructor":{"prototype":{"polluted":1}}}\n`, line: 2, message: /unknown field "constructor"/ },
  'duplicate': { text: `${header}\n${rec({})}\n${rec({})}\n`, line: 3, message: /appears twice/ },
  'out of order': { text: `${header}\n${rec({ id: 'b' })}\n${rec({ id: 'a' })}\n`, line: 3, message: /ordered by type, then id/ },
  'wrong count': { text: `${header}\n${rec({})}\n{"format":"cuttle-dump-end","count":2,"sha256":"x"}\n`, line: 3, message: /counts 2 records but the dump has 1/ },
  'wrong checksum': { text: `${header}\n${rec({})}\n{"format":"cuttle-dump-end","count":1,"sha256":"00"}\n`, line: 3, message: /checksum/ },
  'text after trailer': { text: `${header}\n{"format":"cuttle-dump-end","count":0,"sha256":"x"}\n${rec({})}\n`, line: 3, message: /after the trailer/ },
  'a NUL byte for a line': { text: `${header}\n\u0000`, line: 2, message: /not valid JSON/ },
};

for (const [name, { text, line, message }] of Object.entries(hostile)) {
  test(`hostile dump: ${name}`, async () => {
    const dir = tempDir();
    const backends = [
      new InMemoryBackend(),
      new PlainImportBackend(),
      new SqliteBackend({ path: join(dir.path, 'store.db') }),
      new FileBackend({ path: join(dir.path, 'files'), durable: false }),
    ];
    try {
      for (const backend of backends) {
        const store = new Store({ backend });
        await store.save(Object.assign(new Note('keep'), { text: 'kept' }));
        const error = await rejects(store.importFrom(fromText(text), { mode: 'replace' }), DumpFormatError, message);
        assert.is(error.line, line, `${name}: line ${error.line}`);
        assert.is(error.code, 'ERR_DUMP_FORMAT');
        assert.equal(await store.listAll(), { Note: ['keep'] }, `${backend.name}: nothing changed`);
        assert.is(({} as Record<string, unknown>).polluted, undefined);
        await store.close();
      }
    } finally {
      dir.remove();
    }
  });
}

test('SQLite: a save made while an import runs waits for it, and survives its rollback', async () => {
  const store = new Store({ backend: new SqliteBackend({ path: ':memory:' }) });
  await store.save(Object.assign(new Note('before'), { text: 'old' }));
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slowDump = async function* () {
    yield Buffer.from(`${header}\n${rec({ id: 'a' })}\n`);
    await gate; // the import's transaction is open now
    yield Buffer.from(`${rec({ id: 'b', kind: 'broken' })}\n`);
  };
  const importing = store.importFrom(Readable.from(slowDump()), { mode: 'replace' });
  await new Promise((resolve) => setImmediate(resolve));
  const saving = store.save(Object.assign(new Note('during'), { text: 'mine' }));
  release();
  await rejects(importing, DumpFormatError, /kind must be/);
  await saving;
  assert.equal(await store.listAll(), { Note: ['before', 'during'] }, 'the rollback kept the old data and the concurrent save');
  await store.close();
});

test('bytes that are not UTF-8 are refused with the line', async () => {
  const store = new Store();
  const bytes = Buffer.concat([Buffer.from(`${header}\n`), Buffer.from([0xff, 0xfe, 0x0a])]);
  const error = await rejects(store.importFrom(Readable.from([bytes])), DumpFormatError, /not valid UTF-8/);
  assert.is(error.line, 2);
});

test('a line over maxLineBytes is refused without reading it whole', async () => {
  const store = new Store();
  const big = rec({ content: JSON.stringify({ json: 'x'.repeat(1_000_000) }) });
  const text = `${header}\n${big}\n`;
  const error = await rejects(store.importFrom(fromText(text), { maxLineBytes: 64 * 1024 }), DumpFormatError, /longer than 65536 bytes/);
  assert.is(error.line, 2);
});

test('a good record after the bad line is never stored on a non-atomic backend', async () => {
  const store = new Store({ backend: new PlainImportBackend() });
  const good = rec({ id: 'a' });
  const bad = rec({ id: 'b', kind: 'nope' });
  const text = `${header}\n${good}\n${bad}\n`;
  await rejects(store.importFrom(fromText(text)), DumpFormatError);
  assert.equal(await store.listAll(), {}, 'from a stream');
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'bad.ndjson'), text);
    await rejects(store.importFrom(join(dir.path, 'bad.ndjson')), DumpFormatError);
    assert.equal(await store.listAll(), {}, 'from a file');
  } finally {
    dir.remove();
  }
});

test('a failed export to a path leaves no file behind', async () => {
  const dir = tempDir();
  try {
    const backend = new InMemoryBackend();
    backend.records = async function* () {
      yield { type: 'T', id: 'a', kind: 'object', content: '{"json":{}}', version: 1, updatedAt: 0 };
      throw new Error('disk on fire');
    };
    const store = new Store({ backend });
    await rejects(store.exportTo(join(dir.path, 'out.ndjson')), Error, /disk on fire/);
    const { readdirSync } = await import('node:fs');
    assert.equal(readdirSync(dir.path), []);
  } finally {
    dir.remove();
  }
});

/** Runs `fn`, collecting what reaches process 'uncaughtException' meanwhile (an unhandled 'error' event would crash the run). */
async function catchingCrashes(fn: () => Promise<void>): Promise<unknown[]> {
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on('uncaughtException', onCrash);
  try {
    await fn();
    await new Promise((resolve) => setTimeout(resolve, 20)); // let a late 'error' event arrive
  } finally {
    process.off('uncaughtException', onCrash);
  }
  return crashes;
}

test('exportTo into a folder that does not exist rejects with BackendError naming it, leaving nothing (bug: an unhandled error event crashed the process)', async () => {
  const dir = tempDir();
  try {
    const backends = [new SqliteBackend({ path: join(dir.path, 'app.db') }), new FileBackend({ path: join(dir.path, 'files'), durable: false }), new InMemoryBackend()];
    for (const backend of backends) {
      const store = new Store({ backend });
      await store.save(new Note('n'));
      const destination = join(dir.path, 'no', 'such', 'folder', 'out.ndjson');
      const crashes = await catchingCrashes(async () => {
        const error = await rejects(store.exportTo(destination), BackendError, /cannot write the dump .*out\.ndjson: the folder .*\/no\/such\/folder does not exist/);
        assert.is(error.code, 'ERR_BACKEND');
        assert.is(error.details.file, destination);
        assert.is(error.details.store, backend.name);
        assert.is(error.systemCode, 'ENOENT');
      });
      assert.equal(crashes, [], `${backend.name}: no uncaught error`);
      await store.close();
    }
    const left = readdirSync(dir.path);
    assert.not.ok(left.includes('no'), 'no folder made');
    assert.equal(left.filter((name) => name.endsWith('.tmp')), [], 'no temp file');
  } finally {
    dir.remove();
  }
});

test('exportTo a stream that fails between two writes rejects with its error instead of crashing (bug: an unhandled error event)', async () => {
  const store = new Store();
  await store.saveMany(Array.from({ length: 3000 }, (_, i) => Object.assign(new Note(`n${i}`), { text: 'x'.repeat(100) })));
  let writes = 0;
  const out = new Writable({
    highWaterMark: 1 << 30, // never asks to wait for 'drain', so the error comes between writes
    write(_chunk, _encoding, callback) {
      if (++writes === 2) setImmediate(() => callback(new Error('EPIPE: the reader went away')));
      else callback();
    },
  });
  const crashes = await catchingCrashes(async () => {
    await rejects(store.exportTo(out), Error, /EPIPE: the reader went away/);
  });
  assert.equal(crashes, []);
});

test('a killed exportTo(path) leaves its temp file; the next export to that path removes it, and keeps those of live writers (bug: 52 MB left forever)', async () => {
  const dir = tempDir();
  try {
    const destination = join(dir.path, 'out.ndjson');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/export-worker.ts', import.meta.url)), destination], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line.startsWith('exporting')) break;
    }
    child.kill('SIGKILL');
    await exited;
    const left = readdirSync(dir.path);
    assert.is(left.length, 1, `the killed export left its temp file: ${left}`);
    assert.match(left[0]!, /^\.out\.ndjson\..*\.tmp$/);
    const killed = left[0]!;
    // A temp file of a running export (this process) and one of another destination stay.
    const live = killed.replace(`-${child.pid}-`, `-${process.pid}-`);
    const other = killed.replace('.out.ndjson.', '.other.ndjson.');
    writeFileSync(join(dir.path, live), 'partial');
    writeFileSync(join(dir.path, other), 'partial');
    const store = new Store();
    await store.save(new Note('n'));
    await store.exportTo(destination);
    const after = readdirSync(dir.path);
    assert.not.ok(after.includes(killed), 'the killed export\'s temp file is removed');
    assert.ok(after.includes(live) && after.includes(other), 'a live export\'s and another destination\'s stay');
    assert.is(after.length, 3);
    assert.match(readFileSync(destination, 'utf8'), /"cuttle-dump-end","count":1/);
  } finally {
    dir.remove();
  }
});

test('exportTo and importFrom refuse the store itself and its files (bug: exporting app.db to app.db overwrote the database with the dump)', async () => {
  const dir = tempDir();
  try {
    const db = join(dir.path, 'app.db');
    const sqlite = new Store({ backend: new SqliteBackend({ path: db }) });
    const root = join(dir.path, 'files');
    const files = new Store({ backend: new FileBackend({ path: root, durable: false }) });
    for (const store of [sqlite, files]) await store.save(Object.assign(new Note('kept'), { text: 'still here' }));
    symlinkSync(db, join(dir.path, 'link.db'));
    linkSync(db, join(dir.path, 'hard.db'));
    symlinkSync(root, join(dir.path, 'files-link'));
    mkdirSync(join(dir.path, 'elsewhere'));
    const refused: Array<[Store, string]> = [
      [sqlite, db],
      [sqlite, `${db}-wal`],
      [sqlite, `${db}-shm`],
      [sqlite, `${db}-journal`],
      [sqlite, join(dir.path, 'link.db')],
      [sqlite, join(dir.path, 'hard.db')],
      [sqlite, join(dir.path, 'elsewhere', '..', 'app.db')],
      [files, root],
      [files, join(root, 'backup.ndjson')],
      [files, join(root, 'Note', 'kept.json')],
      [files, join(root, 'new', 'folder', 'x.ndjson')],
      [files, join(dir.path, 'files-link', 'backup.ndjson')],
    ];
    for (const [store, path] of refused) {
      const error = await rejects(store.exportTo(path), InvalidOptionError);
      assert.match(error.message, `exportTo: the destination ${resolve(path)} is part of the store ${store.backend.name}: the dump would overwrite it`);
    }
    await rejects(sqlite.importFrom(db), InvalidOptionError, /import: the dump .*app\.db is part of the store sqlite:/);
    await rejects(files.importFrom(join(root, 'Note', 'kept.json')), InvalidOptionError, /import: the dump .*kept\.json is part of the store file:/);
    for (const store of [sqlite, files]) {
      store.cache.clear();
      assert.is((await store.load(Note, 'kept')).text, 'still here', `${store.backend.name} is intact`);
    }
    // Beside the store is fine, and so is a file whose name only starts like the root's.
    await sqlite.exportTo(join(dir.path, 'app.db.ndjson'));
    await files.exportTo(join(dir.path, 'files.ndjson'));
    await sqlite.close();
    await files.close();
  } finally {
    dir.remove();
  }
});

test('recordLine is canonical JSON with a fixed field order', () => {
  const record = { content: '{"json":1}', updatedAt: 5, version: 2, kind: 'object', id: 'x', type: 'T' } as const;
  assert.is(recordLine(record), '{"type":"T","id":"x","kind":"object","version":2,"updatedAt":5,"content":"{\\"json\\":1}"}');
});

test('import and export report progress', async () => {
  const store = new Store();
  await store.saveMany(Array.from({ length: 2500 }, (_, i) => new Note(`n${String(i).padStart(4, '0')}`)));
  const seen: Array<[number, number | undefined]> = [];
  const text = await (async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c) => chunks.push(c));
    await store.exportTo(out, { onProgress: ({ done, total }) => seen.push([done, total]) });
    return Buffer.concat(chunks).toString();
  })();
  assert.equal(seen, [[1000, 2500], [2000, 2500], [2500, 2500]]);
  const imported: number[] = [];
  await new Store().importFrom(fromText(text), { onProgress: ({ done }) => imported.push(done) });
  assert.equal(imported, [1000, 2000, 2500]);
});

test.run();
