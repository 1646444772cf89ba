import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FileBackend, type FileBackendOptions } from '../src/backends/file.js';
import { decodeId, decodeType, encodeId, encodeType, MAX_STEM } from '../src/backends/file-names.js';
import { BackendError, ConflictError, CorruptDataError, InvalidIdError, InvalidOptionError, LockTimeoutError, ReadOnlyError } from '../src/errors.js';
import { compareIds, DumpFormatError, InMemoryBackend, Serializable, Store, type RecordWrite } from '../src/index.js';
import { exportTo, importFrom } from '../src/dump-files.js';
import { AWKWARD_IDS, backendSuite } from '../src/testing/index.js';
import { feedOf, IS_ROOT, readOnlyView, rejects, tempDir } from './helpers.js';
import { assertOpensReadOnlyAsNobody, assertRefusesChanges } from './read-only.js';

let dir: ReturnType<typeof tempDir> | undefined;
backendSuite('file', () => new FileBackend({ path: (dir = tempDir('cuttle-file-')).path, durable: false }), {
  reopen: async (backend) => {
    await backend.close();
    return new FileBackend({ path: (backend as FileBackend).path });
  },
  // A change file restarted past 4 KiB (the default is 1 MiB): a writer checks its size every 1,024 lines, so 1,100 changes restart it.
  peer: (backend) => new FileBackend({ path: (backend as FileBackend).path, durable: false, changeLogBytes: 4096 }),
  logOverflow: 1100,
  teardown: () => dir?.remove(),
});

interface Context {
  root: string;
  remove: () => void;
  backends: FileBackend[];
  open: (options?: Partial<FileBackendOptions>) => FileBackend;
}

const w = (type: string, id: string, content = '{"json":{}}', extra: Partial<RecordWrite> = {}): RecordWrite => ({ type, id, kind: 'object', content, ...extra });
const fixture = fileURLToPath(new URL('./fixtures/file-worker.ts', import.meta.url));
const importWorker = fileURLToPath(new URL('./fixtures/import-worker.ts', import.meta.url));
/** A pid that belonged to a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!;
const hostTag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** Runs the worker fixture to its end; resolves to its stdout. */
function runWorker(root: string, ...args: string[]): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, root, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`worker ${args.join(' ')} exited with ${code}: ${err}`)))),
  );
}

/** Every file under `folder`, as paths relative to it. */
function walk(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(folder, join(entry.parentPath ?? entry.path, entry.name)));
}

function fileSuite(title: string) {
  const test = suite<Context>(title, {} as Context);
  test.before.each((context) => {
    const temp = tempDir('cuttle-file-');
    context.root = join(temp.path, 'root');
    context.remove = temp.remove;
    context.backends = [];
    context.open = (options = {}) => {
      const backend = new FileBackend({ path: context.root, durable: false, ...options });
      context.backends.push(backend);
      return backend;
    };
  });
  test.after.each(async (context) => {
    for (const backend of context.backends) await backend.close();
    context.remove();
  });
  return test;
}

// ---------------------------------------------------------------------------------------------
const layout = fileSuite('file backend: layout and names');

layout('each object is <root>/<type>/<id>.json, a readable record with the content inlined', async ({ open, root }) => {
  const backend = open({ now: () => 1700000000000, durable: true });
  assert.is(backend.durable, true);
  assert.is(backend.name, `file:${root}`);
  await backend.write(w('Note', 'a', '{"json":{"title":"hi"}}'));
  await backend.write(w('Note', 'a', '{"json":{"title":"hi again"}}', { kind: 'container' }));
  await backend.write(w('Note', 'b'));
  assert.ok(await backend.delete('Note', 'b'));
  assert.equal(walk(root).sort(), ['.cuttle-changes', 'Note/a.json']);
  assert.is(
    readFileSync(join(root, 'Note', 'a.json'), 'utf8'),
    '{\n  "type": "Note",\n  "id": "a",\n  "kind": "container",\n  "version": 2,\n  "updatedAt": 1700000000000,\n' +
      '  "content": {"json":{"title":"hi again"}}\n}\n',
  );
  await backend.clear();
  assert.equal(walk(root), ['.cuttle-changes']);
});

layout('content round-trips byte for byte: key order, spacing, text that is not JSON', async ({ open }) => {
  const backend = open();
  const contents = ['{"b":1,"10":2,"1":3}', ' { "spaced" : [ 1 ,2 ] } ', '{"n":1.0,"e":1E3,"big":12345678901234567890}', 'not json', '', '{"x":"\ud800"}', '"\u2028"'];
  for (const [i, content] of contents.entries()) await backend.write(w('T', `c${i}`, content));
  for (const [i, content] of contents.entries()) assert.is((await backend.load('T', `c${i}`))?.content, content, JSON.stringify(content));
});

layout('a file reformatted by hand still loads, its content re-serialized', async ({ open, root }) => {
  const backend = open();
  await backend.write(w('T', 'a', '{"json":{"x":[1,2]}}'));
  const file = join(root, 'T', 'a.json');
  writeFileSync(file, JSON.stringify(JSON.parse(readFileSync(file, 'utf8')), null, 4));
  const record = await backend.load('T', 'a');
  assert.is(record?.content, '{"json":{"x":[1,2]}}');
  assert.is((await backend.write(w('T', 'a'))).version, 2);
});

layout('ids: safe names stay as they are, anything else is escaped', () => {
  const cases: Record<string, string> = {
    'note-1': 'note-1',
    'a.b_c': 'a.b_c',
    '3f2c1e0a-5b6d-4c7e-8f90-a1b2c3d4e5f6': '3f2c1e0a-5b6d-4c7e-8f90-a1b2c3d4e5f6',
    Ab: '%41b',
    '../x': '%2e.%2fx',
    '.': '%2e',
    '..': '%2e%2e',
    '.hidden': '%2ehidden',
    'trailing.': 'trailing%2e',
    'trailing ': 'trailing%20',
    'a/b': 'a%2fb',
    'a\\b': 'a%5cb',
    '*?<>|"': '%2a%3f%3c%3e%7c%22',
    'a:b': 'a%3ab',
    '%': '%25',
    'é': '%c3%a9',
    con: '%63on',
    CON: '%43%4f%4e',
    'nul.txt': '%6eul.txt',
    'lpt9.json': '%6cpt9.json',
    console: 'console',
    'x.json': 'x.json',
  };
  for (const [id, stem] of Object.entries(cases)) {
    assert.is(encodeId(id), stem, `encodeId(${JSON.stringify(id)})`);
    assert.is(decodeId(stem), id, `decodeId(${JSON.stringify(stem)})`);
  }
  for (const foreign of ['Foo', 'a b', '%2', '%61', 'con', '.x', 'x.', 'a%2Fb', 'a'.repeat(MAX_STEM + 1), 'x#1234']) assert.is(decodeId(foreign), undefined, `foreign ${foreign}`);
});

layout('every awkward id gets a short, portable, lowercase name of its own that decodes back', () => {
  const ids = [...AWKWARD_IDS, 'ÉTÉ', 'été', 'Ω', 'ω', 'a'.repeat(256), 'A'.repeat(256), 'é'.repeat(256), 'x\u0000y', 'x\ny'];
  const seen = new Map<string, string>();
  for (const id of ids) {
    const stem = encodeId(id);
    const name = `${stem}.json`;
    assert.ok(Buffer.byteLength(`.${stem}.lock.break`) <= 255, `short enough: ${JSON.stringify(id)}`);
    assert.ok(stem.length <= MAX_STEM, `stem length of ${JSON.stringify(id)}`);
    assert.match(name, /^[a-z0-9_%-][a-z0-9._%#-]*\.json$/, `portable characters: ${JSON.stringify(id)}`);
    assert.is(name, name.toLowerCase());
    assert.not.ok(/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/.test(stem), `not a device name: ${JSON.stringify(id)}`);
    const decoded = decodeId(stem);
    if (decoded !== undefined) assert.is(decoded, id);
    else assert.ok(stem.includes('#'), `only hashed names do not decode: ${JSON.stringify(id)}`);
    // Case- and normalization-insensitive filesystems compare names folded; no two may meet there.
    const folded = name.toLowerCase().normalize('NFD');
    const other = seen.get(folded);
    assert.ok(other === undefined || other === id, `${JSON.stringify(id)} and ${JSON.stringify(other)} share ${name}`);
    seen.set(folded, id);
  }
});

layout('ids differing only in case or Unicode normalization are separate files', async ({ open, root }) => {
  const backend = open();
  const ids = ['ab', 'Ab', 'aB', 'AB', 'é', 'e\u0301', 'É'];
  for (const id of ids) await backend.write(w('T', id, JSON.stringify({ json: id })));
  const names = readdirSync(join(root, 'T'));
  assert.is(new Set(names.map((name) => name.toLowerCase().normalize('NFC'))).size, ids.length);
  for (const id of ids) assert.is((await backend.load('T', id))?.content, JSON.stringify({ json: id }));
});

layout('path traversal: no id writes outside <root>/<type>', async ({ open, root }) => {
  const backend = open();
  const attempts = [...AWKWARD_IDS, '../../../../tmp/evil', '..\\..\\evil', '/etc/passwd', 'C:\\Windows\\x', 'a/../../b', '\\\\server\\share'];
  for (const id of attempts) await backend.write(w('T', id));
  const parent = join(root, '..');
  for (const file of walk(parent)) assert.ok(file === join('root', '.cuttle-changes') || file.startsWith(join('root', 'T') + '/'), `${file} is outside the root`);
  assert.equal(readdirSync(parent), ['root']);
  assert.is(await backend.count('T'), new Set(attempts).size);
});

layout('type folders: names kept, device names and trailing dots escaped, bad type names refused', async ({ open, root }) => {
  assert.is(encodeType('Note'), 'Note');
  assert.is(encodeType('CON'), '%43ON');
  assert.is(encodeType('nul.x'), '%6eul.x');
  assert.is(encodeType('a.'), 'a%2e');
  for (const type of ['Note', 'CON', 'nul.x', 'a.', 'A_b.c-d']) assert.is(decodeType(encodeType(type)), type);
  for (const folder of ['CON', 'a.', '..', 'my stuff', '%4eote']) assert.is(decodeType(folder), undefined, folder);
  const backend = open();
  await backend.write(w('CON', 'x'));
  await backend.write(w('a.', 'y'));
  assert.equal(readdirSync(root).sort(), ['%43ON', '.cuttle-changes', 'a%2e']);
  assert.equal(await backend.listTypes(), ['CON', 'a.']);
  for (const type of ['../x', 'a/b', '', '.', 'x'.repeat(129)]) await rejects(backend.write(w(type, 'a')), InvalidIdError);
});

layout('long ids get hashed names, and list finds their ids in the index, not in the files', async ({ open, root }) => {
  const backend = open();
  const long = ['😀'.repeat(256), 'z'.repeat(256), 'Z'.repeat(201)];
  for (const id of long) await backend.write(w('T', id, JSON.stringify({ json: id.length })));
  const names = readdirSync(join(root, 'T')).filter((name) => name.endsWith('.json'));
  assert.is(names.length, 3);
  for (const name of names) assert.match(name, /#[0-9a-f]{64}\.json$/);
  for (const id of long) assert.is((await backend.load('T', id))?.content, JSON.stringify({ json: id.length }));
  const sorted = [...long].sort(compareIds);
  // Garbage in the files does not matter to list: it reads names and the index only.
  for (const name of names) writeFileSync(join(root, 'T', name), 'garbage');
  assert.equal(await backend.list('T'), sorted);
  assert.is(await backend.count('T'), 3);
  // Without the index, list falls back to each file's header; unreadable ones are left out.
  unlinkSync(join(root, 'T', '.long-ids'));
  await backend.put({ type: 'T', id: long[0]!, kind: 'object', content: '{}', version: 1, updatedAt: 0 });
  unlinkSync(join(root, 'T', '.long-ids'));
  assert.equal(await backend.list('T'), [long[0]]);
  for (const id of long) assert.ok(await backend.delete('T', id));
  assert.equal(await backend.list('T'), []);
});

layout('list and count read names only; files cuttle did not write are ignored', async ({ open, root }) => {
  const backend = open();
  for (const id of ['a', 'B', 'c d']) await backend.write(w('T', id));
  for (const name of readdirSync(join(root, 'T'))) writeFileSync(join(root, 'T', name), '{ not read by list');
  for (const foreign of ['README.md', 'Foo.json', 'a b.json', '.hidden.json', 'notes.txt']) writeFileSync(join(root, 'T', foreign), 'x');
  mkdirSync(join(root, 'T', 'sub.json'));
  mkdirSync(join(root, 'my stuff'));
  writeFileSync(join(root, 'my stuff', 'x.json'), '{}');
  mkdirSync(join(root, 'Empty'));
  writeFileSync(join(root, 'Other'), 'a file, not a folder');
  assert.equal(await backend.list('T'), ['B', 'a', 'c d']);
  assert.is(await backend.count('T'), 3);
  assert.equal(await backend.listTypes(), ['T']);
});

layout('clear removes what cuttle wrote and leaves everything else', async ({ open, root }) => {
  const backend = open();
  await backend.write(w('T', 'a'));
  await backend.write(w('T', '😀'.repeat(100)));
  await backend.write(w('U', 'b'));
  writeFileSync(join(root, 'T', 'README.md'), 'mine');
  writeFileSync(join(root, 'notes.txt'), 'mine');
  mkdirSync(join(root, 'T', 'folder.json'));
  writeFileSync(join(root, 'T', 'folder.json', 'x.json'), '{}');
  mkdirSync(join(root, 'my stuff'));
  writeFileSync(join(root, 'my stuff', 'x.json'), '{}');
  await backend.clear();
  assert.equal(walk(root).sort(), ['.cuttle-changes', 'T/README.md', 'T/folder.json/x.json', 'my stuff/x.json', 'notes.txt']);
  assert.equal(await backend.listTypes(), []);
});

layout('leftover temp files are never listed and are removed on open', async ({ open, root }) => {
  const first = open();
  await first.write(w('T', 'a'));
  const dead = deadPid();
  const leftovers = [`.${hostTag}-${dead}-0123456789ab.tmp`, `.${hostTag}-${dead}-cdef.tmp`];
  const live = `.${hostTag}-${process.pid}-aaaa.tmp`;
  for (const name of [...leftovers, live]) writeFileSync(join(root, 'T', name), '{"type":"T","id":"a"');
  writeFileSync(join(root, leftovers[0]!), '');
  assert.equal(await first.list('T'), ['a']);
  await first.close();
  await open().close(); // waits for the cleanup
  assert.equal(readdirSync(join(root, 'T')).sort(), [live, 'a.json']);
  assert.not.ok(existsSync(join(root, leftovers[0]!)));
});

layout('stale locks are broken (dead pid, own pid not held, old lock of another host); live ones make a write time out', async ({ open, root }) => {
  const backend = open({ lockTimeout: 300 });
  await backend.write(w('T', 'a'));
  const lock = join(root, 'T', '.a.lock');
  symlinkSync(JSON.stringify({ pid: deadPid(), host: hostname(), nonce: 'x' }), lock);
  assert.is((await backend.write(w('T', 'a'))).version, 2, 'dead owner');
  // Our own pid, but not a lock this process holds: a restarted container reusing its pid.
  symlinkSync(JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'y' }), lock);
  assert.is((await backend.write(w('T', 'a'))).version, 3, 'own pid, not held');
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  try {
    symlinkSync(JSON.stringify({ pid: sleeper.pid, host: hostname(), nonce: 'z' }), lock);
    const error = await rejects(backend.write(w('T', 'a')), LockTimeoutError);
    assert.is(error.code, 'ERR_LOCK_TIMEOUT');
    assert.is(error.file, lock);
    assert.match(error.message, String(sleeper.pid));
    assert.is((await backend.load('T', 'a'))?.version, 3, 'nothing written');
  } finally {
    sleeper.kill('SIGKILL');
    await new Promise((resolve) => sleeper.once('exit', resolve));
  }
  assert.is((await backend.write(w('T', 'a'))).version, 4, 'owner gone');
  // Another host's pid means nothing here: its lock is broken only once older than a minute.
  symlinkSync(JSON.stringify({ pid: process.pid, host: 'elsewhere', nonce: 'h' }), lock);
  await rejects(backend.write(w('T', 'a')), LockTimeoutError);
  const longAgo = new Date(Date.now() - 120_000);
  lutimesSync(lock, longAgo, longAgo);
  assert.is((await backend.write(w('T', 'a'))).version, 5, 'old lock from another host');
  // A process that died while breaking a stale lock left its guard: waiting still ends in time,
  // and the guard itself counts as abandoned after a minute.
  symlinkSync(JSON.stringify({ pid: deadPid(), host: hostname(), nonce: 'g' }), lock);
  symlinkSync('12345', `${lock}.break`);
  await rejects(backend.write(w('T', 'a')), LockTimeoutError);
  lutimesSync(`${lock}.break`, longAgo, longAgo);
  assert.is((await backend.write(w('T', 'a'))).version, 6, 'abandoned guard');
  assert.equal(readdirSync(join(root, 'T')), ['a.json']);
});

layout('put creates a new object without its lock and replaces an existing one under it', async ({ open, root }) => {
  const backend = open({ lockTimeout: 200 });
  await backend.write(w('T', 'held'));
  const record = (id: string, version: number) => ({ type: 'T', id, kind: 'object' as const, content: `{"json":${version}}`, version, updatedAt: 1 });
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  try {
    for (const id of ['held', 'fresh']) {
      symlinkSync(JSON.stringify({ pid: sleeper.pid, host: hostname(), nonce: id }), join(root, 'T', `.${id}.lock`));
    }
    await backend.put(record('fresh', 7));
    assert.equal(await backend.load('T', 'fresh'), { ...record('fresh', 7) }, 'a new object needs no lock');
    await rejects(backend.put(record('held', 9)), LockTimeoutError);
    assert.is((await backend.load('T', 'held'))?.version, 1, 'an existing object is replaced only under its lock');
  } finally {
    sleeper.kill('SIGKILL');
    await new Promise((resolve) => sleeper.once('exit', resolve));
  }
});

layout('an import larger than one parallel chunk stores every record as given, over existing ones', async ({ open }) => {
  const backend = open();
  for (let i = 0; i < 600; i += 50) await backend.write(w('T', `id-${String(i).padStart(4, '0')}`, '{"json":"old"}'));
  async function* records() {
    for (let i = 0; i < 600; i++) {
      yield { type: 'T', id: `id-${String(i).padStart(4, '0')}`, kind: 'object' as const, content: `{"json":${i}}`, version: 3, updatedAt: 1 };
    }
  }
  assert.is(await backend.importRecords(records(), { replace: false }), 600);
  assert.is(await backend.count('T'), 600);
  for (const i of [0, 50, 255, 256, 599]) {
    const stored = await backend.load('T', `id-${String(i).padStart(4, '0')}`);
    assert.is(stored?.content, `{"json":${i}}`);
    assert.is(stored?.version, 3);
  }
});

// Temp files are written in the root and renamed or linked into the type folder; a type folder
// on another filesystem makes that fail with EXDEV, and the write is made again beside the object.
const otherFilesystem = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev;
(otherFilesystem ? layout : layout.skip)(
  otherFilesystem
    ? 'a type folder on another filesystem (a link to /dev/shm) is written through the EXDEV fallback'
    : 'a type folder on another filesystem: skipped, /dev/shm is missing or on the same filesystem as the temp folder',
  async ({ open, root }) => {
    const backend = open();
    await backend.write(w('Other', 'seed'));
    const elsewhere = mkdtempSync('/dev/shm/cuttle-exdev-');
    try {
      symlinkSync(elsewhere, join(root, 'T'));
      assert.is((await backend.write(w('T', 'a', '{"json":1}'))).version, 1);
      assert.is((await backend.write(w('T', 'a', '{"json":2}'))).version, 2);
      await backend.put({ type: 'T', id: 'b', kind: 'object', content: '{"json":3}', version: 5, updatedAt: 1 });
      assert.is((await backend.load('T', 'a'))?.content, '{"json":2}');
      assert.is((await backend.load('T', 'b'))?.version, 5);
      assert.equal(readdirSync(elsewhere).sort(), ['a.json', 'b.json']);
      assert.equal(readdirSync(root).filter((name) => name.endsWith('.tmp')), [], 'no temp file left in the root');
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  },
);

layout('exists is false for a missing file and throws when the file cannot be reached', async ({ open, root }) => {
  const backend = open();
  await backend.write(w('T', 'a'));
  assert.is(await backend.exists('T', 'a'), true);
  assert.is(await backend.exists('T', 'b'), false);
  writeFileSync(join(root, 'U'), 'a file where the type folder U would be');
  const error = await rejects(backend.exists('U', 'a'), Error);
  assert.is((error as NodeJS.ErrnoException).code, 'ENOTDIR');
});

layout('concurrent writes to one id, through one backend object or two, are serialized and all counted', async ({ open }) => {
  const backend = open();
  const other = open();
  const stored = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? backend : other).write(w('T', 'a', `{"json":${i}}`))));
  assert.equal(stored.map((record) => record.version).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1));
  assert.is((await backend.load('T', 'a'))?.version, 40);
});

layout('options are checked where they enter', async ({ root }) => {
  const make = (options: unknown) => () => new FileBackend(options as FileBackendOptions);
  assert.throws(make({ pth: root }), (error: Error) => error instanceof InvalidOptionError && /unknown option "pth" \(did you mean "path"\?\)/.test(error.message));
  assert.throws(make({}), /FileBackend: path \(the root folder\) must be a non-empty string, got undefined/);
  assert.throws(make(undefined), /path \(the root folder\) must be a non-empty string/);
  assert.throws(make({ path: root, durable: 'yes' }), /FileBackend: durable must be one of true, false, got "yes"/);
  assert.throws(make({ path: root, lockTimeout: -1 }), /FileBackend: lockTimeout must be an integer >= 0, got number -1/);
  assert.throws(make({ path: root, onCorrupt: 'skip' }), /FileBackend: onCorrupt must be "throw" or a function, got "skip"/);
  assert.throws(make({ path: root, now: 5 }), /FileBackend: now must be a function/);
  assert.not.ok(existsSync(root), 'nothing made for bad options');
});

// ---------------------------------------------------------------------------------------------
const readOnly = fileSuite('file backend: read-only stores');

readOnly('readonly: true reads, lists and exports; every change throws ReadOnlyError naming the store; nothing is written', async ({ open, root }) => {
  const writer = open();
  await writer.write(w('T', 'a', '{"json":"a"}'));
  await writer.write(w('T', 'b'));
  await writer.write(w('U', 'c'));
  const before = walk(root).map((file) => [file, statSync(join(root, file)).mtimeMs]);
  const reader = open({ readonly: true });
  assert.ok(reader.readonly);
  assert.not.ok(writer.readonly);
  assert.is((await reader.load('T', 'a'))?.content, '{"json":"a"}');
  assert.equal(await reader.list('T'), ['a', 'b']);
  assert.equal(await reader.listTypes(), ['T', 'U']);
  assert.is(await reader.count('T'), 2);
  assert.ok(await reader.exists('U', 'c'));
  const exported: string[] = [];
  for await (const record of reader.records()) exported.push(`${record.type}/${record.id}`);
  assert.equal(exported, ['T/a', 'T/b', 'U/c']);
  await assertRefusesChanges(reader, 'T', 'a', `file:${root} is read-only (opened with readonly: true): it cannot be changed`);
  assert.equal(walk(root).map((file) => [file, statSync(join(root, file)).mtimeMs]), before, 'not a byte written');
  const feed = feedOf(reader);
  assert.equal(feed.poll(), []);
  await writer.write(w('T', 'b', '{"json":"b2"}'));
  assert.equal(feed.poll(), [{ type: 'T', id: 'b', version: 2, deleted: false }], 'another writer is seen');
  assert.equal(feed.poll(), []);
  assert.is((await reader.load('T', 'b'))?.content, '{"json":"b2"}');
});

readOnly('readonly: true on a root without a change file creates none, and sees the first writer', async ({ open, root }) => {
  const writer = open();
  await writer.write(w('T', 'a'));
  await writer.close();
  unlinkSync(join(root, '.cuttle-changes'));
  const reader = open({ readonly: true });
  const feed = feedOf(reader);
  assert.equal(feed.poll(), []);
  assert.not.ok(existsSync(join(root, '.cuttle-changes')));
  await open().write(w('T', 'b'));
  assert.equal(feed.poll(), [{ type: 'T', id: 'b', version: 1, deleted: false }]);
});

readOnly('readonly: true on a missing root: BackendError saying the store does not exist, and nothing is created', async ({ root }) => {
  const error = (() => {
    try {
      new FileBackend({ path: root, readonly: true });
    } catch (error) {
      return error as BackendError;
    }
    throw new Error('opened');
  })();
  assert.instance(error, BackendError);
  assert.is(error.message, `file:${root}: the store does not exist (no folder ${root})`);
  assert.is(error.details.file, root);
  assert.not.ok(existsSync(root));
  mkdirSync(join(root, '..'), { recursive: true });
  writeFileSync(root, 'a file');
  assert.throws(() => new FileBackend({ path: root, readonly: true }), (e: Error) => e instanceof BackendError && e.message === `file:${root}: ${root} is not a folder`);
  assert.throws(() => new FileBackend({ path: root, readonly: 'yes' as never }), /FileBackend: readonly must be one of true, false, got "yes"/);
});

readOnly(`a root on a read-only filesystem opens read-only by itself (bug: the constructor threw EROFS)${IS_ROOT ? '' : ' (skipped: needs root to mount one)'}`, async ({ open, root }) => {
  if (!IS_ROOT) return;
  const writer = open();
  await writer.write(w('T', 'a', '{"json":"a"}'));
  const view = readOnlyView(root);
  try {
    const reader = new FileBackend({ path: view.path });
    try {
      assert.ok(reader.readonly);
      assert.equal(await reader.list('T'), ['a']);
      assert.is((await reader.load('T', 'a'))?.content, '{"json":"a"}');
      const error = await rejects(reader.write(w('T', 'b')), ReadOnlyError);
      assert.is(error.message, `file:${view.path} is read-only (on a read-only filesystem (EROFS writing ${view.path}/.cuttle-changes)): it cannot be changed`);
      const feed = feedOf(reader);
      feed.poll();
      await writer.write(w('T', 'a', '{"json":"a2"}'));
      assert.equal(feed.poll(), [{ type: 'T', id: 'a', version: 2, deleted: false }], 'a writer through the writable path is seen');
      assert.is((await reader.load('T', 'a'))?.content, '{"json":"a2"}');
    } finally {
      await reader.close();
    }
  } finally {
    view.unmount();
  }
});

readOnly(`a root this process may not write opens read-only by itself (bug: the constructor threw EACCES)${IS_ROOT ? '' : ' (skipped: needs root to run a child as another user)'}`, async ({ open, root }) => {
  if (!IS_ROOT) return;
  const writer = open();
  await writer.write(w('Note', 'a', '{"json":"a"}'));
  await writer.write(w('Note', 'b'));
  assertOpensReadOnlyAsNobody('file', root, join(root, '..'), `file:${root} is read-only (no permission to write (EACCES writing ${root}/.cuttle-changes)): it cannot be changed`);
});

// ---------------------------------------------------------------------------------------------
const damage = fileSuite('file backend: damaged files');

damage('a corrupt file is a CorruptDataError naming it; other objects stay readable and listable', async ({ open, root }) => {
  const backend = open();
  const ids = ['good', 'bad-json', 'truncated', 'array', 'no-version', 'bad-kind', 'renamed', 'cut-content'];
  for (const id of ids) await backend.write(w('T', id, '{"json":{"x":"some text"}}'));
  const file = (id: string) => join(root, 'T', `${id}.json`);
  writeFileSync(file('bad-json'), '{"type": "T", oops');
  writeFileSync(file('truncated'), readFileSync(file('truncated'), 'utf8').slice(0, 40));
  writeFileSync(file('cut-content'), readFileSync(file('cut-content'), 'utf8').slice(0, -10));
  writeFileSync(file('array'), '[1, 2]');
  writeFileSync(file('no-version'), JSON.stringify({ type: 'T', id: 'no-version', kind: 'object', updatedAt: 1, content: {} }));
  writeFileSync(file('bad-kind'), readFileSync(file('bad-kind'), 'utf8').replace('"object"', '"thing"'));
  writeFileSync(file('renamed'), readFileSync(file('good'), 'utf8'));
  const expected: Record<string, RegExp> = {
    'bad-json': /bad-json\.json is not valid JSON/,
    truncated: /truncated\.json is not valid JSON/,
    array: /array\.json does not hold a cuttle record/,
    'no-version': /no-version\.json has an invalid "version"/,
    'bad-kind': /bad-kind\.json has an invalid "kind": "thing"/,
    renamed: /renamed\.json holds T "good", not T "renamed"/,
  };
  for (const [id, message] of Object.entries(expected)) {
    const error = await rejects(backend.load('T', id), CorruptDataError, message);
    assert.is(error.code, 'ERR_CORRUPT_DATA');
    assert.equal(error.where, { type: 'T', id, file: file(id) });
    assert.ok(error.message.includes(file(id)), 'the message names the file');
    await rejects(backend.write(w('T', id)), CorruptDataError, new RegExp(`${id}\\.json`));
  }
  // A save reads only the header for the version: damage after it is overwritten, not reported.
  await rejects(backend.load('T', 'cut-content'), CorruptDataError, /cut-content\.json is not valid JSON/);
  assert.is((await backend.write(w('T', 'cut-content'))).version, 2);
  assert.is((await backend.load('T', 'good'))?.content, '{"json":{"x":"some text"}}');
  assert.equal(await backend.list('T'), [...ids].sort());
  assert.ok(await backend.delete('T', 'bad-json'), 'a corrupt object can be deleted');
  assert.is((await backend.write(w('T', 'bad-json'))).version, 1);
  await backend.put({ type: 'T', id: 'array', kind: 'object', content: '{}', version: 5, updatedAt: 0 });
  assert.is((await backend.load('T', 'array'))?.version, 5, 'put replaces a corrupt file');
});

damage('records() fails on a corrupt file by default; with onCorrupt it reports and skips it', async ({ open, root }) => {
  const writer = open();
  for (const id of ['a', 'b', 'c']) await writer.write(w('T', id));
  writeFileSync(join(root, 'T', 'b.json'), 'not json');
  const collect = async (backend: FileBackend) => {
    const ids: string[] = [];
    for await (const record of backend.records()) ids.push(record.id);
    return ids;
  };
  await rejects(collect(writer), CorruptDataError, /b\.json/);
  for await (const record of writer.records()) if (record.id === 'a') break; // before the damage: no error
  const reported: CorruptDataError[] = [];
  const tolerant = open({ onCorrupt: (error) => reported.push(error) });
  assert.equal(await collect(tolerant), ['a', 'c']);
  assert.is(reported.length, 1);
  assert.is(reported[0]!.where.file, join(root, 'T', 'b.json'));
});

// ---------------------------------------------------------------------------------------------
const processes = fileSuite('file backend: several processes');

/** Every record under `root`, as `type/id v<version> <content>`, read by a new (writable) backend, which is closed after. */
async function snapshot(root: string): Promise<string[]> {
  const backend = new FileBackend({ path: root, durable: false });
  const lines: string[] = [];
  for await (const record of backend.records()) lines.push(`${record.type}/${record.id} v${record.version} ${record.content}`);
  await backend.close();
  return lines;
}

/** Runs the import worker (a replace import of `dump` into `root`, killed at its k-th name change; 0: not killed). */
function runImport(root: string, dump: string, k: number): Promise<{ signal: NodeJS.Signals | null; code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', importWorker, root, dump, String(k)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
}

const stagingLeft = (root: string) => readdirSync(root).filter((name) => name.startsWith('.cuttle-import-'));

processes('SIGKILL at any step of a replace import leaves exactly the old objects or exactly the new ones, and what cuttle did not write (bug: a kill left 768 of the new and 0 of the 1,500 old)', async ({ root }) => {
  const old = new FileBackend({ path: root, durable: false });
  for (let i = 0; i < 20; i++) await old.write(w('A', `a${i}`, `{"json":"old a${i}"}`));
  for (let i = 0; i < 10; i++) await old.write(w('B', `b${i}`, `{"json":"old b${i}"}`));
  await old.close();
  writeFileSync(join(root, 'B', 'README.md'), 'about B');
  writeFileSync(join(root, 'notes.txt'), 'mine');
  mkdirSync(join(root, 'other'));
  writeFileSync(join(root, 'other', 'keep.txt'), 'mine too');
  const oldSet = await snapshot(root);
  const source = new InMemoryBackend();
  for (let i = 0; i < 15; i++) await source.put({ ...w('B', `b${i}`, `{"json":"new b${i}"}`), version: 5, updatedAt: 1 });
  for (let i = 0; i < 25; i++) await source.put({ ...w('C', `c${i}`, `{"json":"new c${i}"}`), version: 2, updatedAt: 2 });
  const newSet: string[] = [];
  for await (const record of source.records()) newSet.push(`${record.type}/${record.id} v${record.version} ${record.content}`);
  const dump = join(root, '..', 'new.ndjson');
  await exportTo(source, dump);
  const template = join(root, '..', 'template');
  cpSync(root, template, { recursive: true });
  const fresh = (name: string) => {
    const copy = join(root, '..', name);
    cpSync(template, copy, { recursive: true });
    return copy;
  };

  const full = await runImport(fresh('full'), dump, 0);
  assert.is(full.code, 0, full.err);
  const total = Number(/calls (\d+)/.exec(full.out)![1]);
  assert.equal(await snapshot(join(root, '..', 'full')), newSet, 'an import that is not killed stores the dump');
  // One point while records are written, and every step of the last dozen: the last records, the
  // commit, the swap, the clean-up (90 steps in all here, the commit at 82).
  const points = [Math.floor(total / 2), ...Array.from({ length: 12 }, (_, i) => total - 11 + i)];
  const outcomes: Record<string, number[]> = { old: [], new: [] };
  const check = async (k: number) => {
    const store = fresh(`kill-${k}`);
    const run = await runImport(store, dump, k);
    assert.is(run.signal, 'SIGKILL', `killed at call ${k} of ${total}: ${run.err}`);
    const committed = stagingLeft(store).some((name) => existsSync(join(store, name, 'commit.json')));
    if (committed) {
      assert.throws(() => new FileBackend({ path: store, readonly: true }), (error: Error) => error instanceof ReadOnlyError && /a replace import was interrupted/.test(error.message), 'a read-only open cannot finish it: it says so');
    }
    const now = await snapshot(store);
    const which = JSON.stringify(now) === JSON.stringify(oldSet) ? 'old' : JSON.stringify(now) === JSON.stringify(newSet) ? 'new' : undefined;
    assert.ok(which, `killed at call ${k} of ${total}: ${now.length} objects, neither exactly the ${oldSet.length} old nor the ${newSet.length} new`);
    if (committed) assert.is(which, 'new', `killed at call ${k} after the commit: the next open finishes the import`);
    outcomes[which!]!.push(k);
    assert.is(readFileSync(join(store, 'B', 'README.md'), 'utf8'), 'about B');
    assert.is(readFileSync(join(store, 'notes.txt'), 'utf8'), 'mine');
    assert.is(readFileSync(join(store, 'other', 'keep.txt'), 'utf8'), 'mine too');
    assert.equal(stagingLeft(store), [], `killed at call ${k}: the next open removes the staging folder`);
  };
  for (let i = 0; i < points.length; i += 3) await Promise.all(points.slice(i, i + 3).map(check));
  assert.ok(outcomes.old!.length > 0 && outcomes.new!.length > 0, `kills before and after the commit: ${JSON.stringify(outcomes)}`);
});

processes('a replace import whose dump turns out bad part-way changes nothing and leaves no staging folder', async ({ open, root }) => {
  const backend = open();
  await backend.write(w('A', 'kept'));
  const records = (async function* () {
    for (let i = 0; i < 300; i++) yield { ...w('B', `b${String(i).padStart(3, '0')}`), version: 1, updatedAt: 0 };
    throw new DumpFormatError('bad line', 302);
  })();
  await rejects(backend.importRecords(records, { replace: true }), DumpFormatError);
  assert.equal(await backend.listTypes(), ['A']);
  assert.equal(stagingLeft(root), []);
  const dump = join(root, '..', 'x.ndjson');
  writeFileSync(dump, '{"format":"cuttle-dump","version":1}\n{"format":"cuttle-dump-end","count":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}\n');
  await importFrom(backend, dump, { mode: 'replace' });
  assert.equal(await backend.listTypes(), [], 'an empty dump empties the store');
});

processes('the change feed: nothing for own changes; exactly what another process or backend object changed, once', async ({ open, root }) => {
  const mine = open();
  const feed = feedOf(mine);
  assert.equal(feed.poll(), [], 'nothing since opening');
  await mine.write(w('T', 'a'));
  await mine.writeMany([w('T', 'b'), w('T', 'c')]);
  await mine.delete('T', 'c');
  await mine.load('T', 'a');
  assert.equal(feed.poll(), [], 'own changes');
  await runWorker(root, 'write', 'T', 'a');
  assert.equal(feed.poll(), [{ type: 'T', id: 'a', version: 2, deleted: false }], 'another process saved');
  assert.equal(feed.poll(), [], 'reported once');
  await runWorker(root, 'delete', 'T', 'b');
  assert.equal(feed.poll(), [{ type: 'T', id: 'b', version: 0, deleted: true }], 'another process deleted');
  const other = open();
  const theirs = feedOf(other);
  await other.write(w('T', 'x'));
  assert.equal(feed.poll(), [{ type: 'T', id: 'x', version: 1, deleted: false }], 'another backend object in this process');
  assert.equal(theirs.poll(), []);
  await other.clear();
  assert.equal(feed.poll(), [{ reset: true }], 'clear: one reset');
  assert.is(await mine.load('T', 'a'), undefined);
});

processes('atomic replace: a reader never sees a partial file while another process rewrites it', async ({ open, root }) => {
  const backend = open();
  await backend.write(w('T', 'big', '{"json":{"i":-1}}'));
  const file = join(root, 'T', 'big.json');
  let done = false;
  const writer = runWorker(root, 'rewrite', '150').finally(() => (done = true));
  const seen = new Set<number>();
  while (!done) {
    const record = JSON.parse(readFileSync(file, 'utf8')); // throws on a partial file
    assert.is(record.id, 'big');
    const { i, text } = record.content.json;
    if (i >= 0) assert.is(text, String(i % 10).repeat(i % 2 ? 300_000 : 50_000));
    seen.add((await backend.load('T', 'big'))!.version);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await writer;
  assert.is((await backend.load('T', 'big'))?.version, 151);
  assert.ok(seen.size > 1, 'the reader ran while the writer did');
});

processes('SIGKILL of a writer: every file parses, every acknowledged save is there, its locks and temp files are recovered', async ({ open, root }) => {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, root, 'loop', '8'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = new Map<string, { version: number; i: number }>();
  let buffer = '';
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`the writer exited with ${code} before it was killed`)));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const [, id, version, i] = line.split(' ');
        acked.set(id!, { version: Number(version), i: Number(i) });
        if (++count === 150) {
          child.removeAllListeners('exit');
          child.kill('SIGKILL');
          child.on('exit', () => resolve());
        }
      }
    });
  });
  for (const name of readdirSync(join(root, 'T')).filter((name) => name.endsWith('.json'))) {
    JSON.parse(readFileSync(join(root, 'T', name), 'utf8'));
  }
  const backend = open({ lockTimeout: 5000 });
  assert.equal(await backend.list('T'), [...acked.keys()].sort());
  for (const [id, ack] of acked) {
    const record = (await backend.load('T', id))!;
    assert.ok(record.version >= ack.version, `${id}: version ${record.version} >= acknowledged ${ack.version}`);
    if (record.version === ack.version) assert.is(JSON.parse(record.content).json.i, ack.i);
    // Whatever lock the writer held is recovered at once: its pid is dead.
    assert.is((await backend.write(w('T', id))).version, record.version + 1);
  }
  await backend.close();
  await open().close(); // waits for the cleanup of the killed writer's temp files
  assert.equal(readdirSync(join(root, 'T')).filter((name) => !name.endsWith('.json')), []);
});

processes('two processes racing to create and update: exactly one wins each expectedVersion race; versions count every save; their change-file lines never tear', async ({ root }) => {
  const count = 40;
  const start = (name: string) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, root, 'race', name, String(count)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (err += chunk));
    const ready = new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('ready') && resolve()));
    const done = new Promise<{ created: string[]; updated: string[] }>((resolve, reject) =>
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf('\n') + 1))) : reject(new Error(`worker ${name}: ${err}`)))),
    );
    return { child, ready, done };
  };
  const workers = [start('one'), start('two')];
  await Promise.all(workers.map((worker) => worker.ready));
  for (const worker of workers) worker.child.stdin.end('go\n');
  const [one, two] = await Promise.all(workers.map((worker) => worker.done));
  const backend = new FileBackend({ path: root });
  try {
    for (let i = 0; i < count; i++) {
      const id = `r${i}`;
      assert.is(Number(one!.created.includes(id)) + Number(two!.created.includes(id)), 1, `one creator of ${id}`);
      assert.is(Number(one!.updated.includes(id)) + Number(two!.updated.includes(id)), 1, `one updater of ${id}`);
      assert.is((await backend.load('Race', id))?.version, 2);
      assert.is((await backend.load('Fresh', `f${i}`))?.version, 2, `both saves of the new object f${i} count`);
    }
    assert.is((await backend.load('Shared', 'counter'))?.version, 2 * count, 'no save lost');
    // Both appended to one change file at once: every line whole, one per successful save.
    const lines = readFileSync(join(root, '.cuttle-changes'), 'utf8').split('\n');
    assert.is(lines.pop(), '', 'ends with a whole line');
    const torn = lines.filter((line) => !/^[^\t]+\ts\t[1-9][0-9]*\t(Race|Fresh|Shared)\t[^\t]+$/.test(line));
    assert.equal(torn, [], 'no torn or mixed line');
    assert.is(lines.length, 6 * count, 'a line per save: a create, an update, two saves of Fresh and two of the counter per round');
    await rejects(backend.write(w('Race', 'r0', '{}', { expectedVersion: 1 })), ConflictError);
  } finally {
    await backend.close();
  }
});

layout.run();
readOnly.run();
damage.run();
processes.run();
