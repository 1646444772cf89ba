// A dump from any backend imports into any other unchanged: every pair, compared record by
// record and object by object.
import 'fake-indexeddb/auto';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Container, FileBackend, InMemoryBackend, Serializable, SqliteBackend, Store, type StorageBackend } from '../src/index.js';
import { IndexedDbBackend } from '../src/indexeddb.js';
import { AWKWARD_IDS } from '../src/testing/index.js';
import { tempDir } from './helpers.js';

class Note extends Serializable {
  text = '';
  when = new Date(0);
  extra: unknown = undefined;
}
class Folder extends Container {
  notes: Note[] = [];
  index = new Map<string, Note>();
}

const MAKERS: Record<string, (dir: string) => StorageBackend> = {
  memory: () => new InMemoryBackend(),
  file: (dir) => new FileBackend({ path: join(dir, 'files'), durable: false }),
  sqlite: (dir) => new SqliteBackend({ path: join(dir, 'store.db') }),
  // Under fake-indexeddb; the folder's path makes the database's name unique.
  indexeddb: (dir) => new IndexedDbBackend({ name: dir }),
};

async function fill(store: Store): Promise<void> {
  const folder = new Folder('folder');
  folder.notes = AWKWARD_IDS.slice(0, 20).map((id, i) => Object.assign(new Note(id), { text: `note ${i} "quoted"\n\u2028😀`, when: new Date(i * 1000) }));
  folder.index.set('first', folder.notes[0]!);
  folder.notes[1]!.extra = { big: 10n ** 20n, set: new Set([1, 2]), nothing: undefined, nan: NaN };
  await store.save(folder);
  await store.save(folder.notes[2]!); // version 2
}

async function dumpOf(store: Store): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk) => chunks.push(chunk));
  await store.exportTo(out, { timestamp: false });
  // The header names the source backend; the records must be identical.
  return Buffer.concat(chunks).toString('utf8').split('\n').slice(1).join('\n');
}

const test = suite('dumps between every pair of backends');

for (const from of Object.keys(MAKERS)) {
  for (const to of Object.keys(MAKERS)) {
    test(`${from} -> ${to}`, async () => {
      const dir = tempDir();
      const source = new Store({ backend: MAKERS[from]!(join(dir.path, 'a')) });
      const target = new Store({ backend: MAKERS[to]!(join(dir.path, 'b')), registry: source.registry });
      try {
        await fill(source);
        const file = join(dir.path, 'dump.ndjson');
        await source.exportTo(file);
        await target.importFrom(file, { mode: 'replace' });
        assert.is(await dumpOf(target), await dumpOf(source), 'records identical, byte for byte');
        const a = await source.load(Folder, 'folder', { cache: false });
        const b = await target.load(Folder, 'folder', { cache: false });
        assert.equal(b.notes.map((n) => [n.id, n.text, n.when.getTime()]), a.notes.map((n) => [n.id, n.text, n.when.getTime()]));
        assert.ok(b.index.get('first') === b.notes[0], 'references resolve to shared instances');
        assert.equal(b.notes[1]!.extra, a.notes[1]!.extra);
        assert.is(target.versionOf(b.notes[2]!), 2, 'versions survive');
      } finally {
        await source.close();
        await target.close();
        dir.remove();
      }
    });
  }
}

test.run();
