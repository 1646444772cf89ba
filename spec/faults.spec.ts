// Failures of the storage itself (a full disk, a permission denied, SQLite's I/O errors) reach the
// caller as BackendError naming the store, the action and the object, with the system's code and
// the original error as its cause; and nothing acknowledged is lost.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BackendError, Container, FileBackend, InMemoryBackend, Serializable, SqliteBackend, Store, type RecordWrite, type StorageBackend, type StoredRecord } from '../src/index.js';
import { rejects, tempDir } from './helpers.js';

class Doc extends Serializable {
  body = '';
}
class Box extends Container {
  docs: Doc[] = [];
}

/** A memory backend whose every call fails as a full disk would, once `failing` is set. */
class FullDisk extends InMemoryBackend {
  failing = false;
  #fail(): void {
    if (this.failing) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, path: '/data/x.json' });
  }
  override async load(type: string, id: string): Promise<StoredRecord | undefined> {
    this.#fail();
    return super.load(type, id);
  }
  override async write(write: RecordWrite): Promise<StoredRecord> {
    this.#fail();
    return super.write(write);
  }
  override async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    this.#fail();
    return super.writeMany(writes);
  }
  override async delete(type: string, id: string): Promise<boolean> {
    this.#fail();
    return super.delete(type, id);
  }
  override async exists(type: string, id: string): Promise<boolean> {
    this.#fail();
    return super.exists(type, id);
  }
  override async list(type: string): Promise<string[]> {
    this.#fail();
    return super.list(type);
  }
  override async listTypes(): Promise<string[]> {
    this.#fail();
    return super.listTypes();
  }
  override async count(type: string): Promise<number> {
    this.#fail();
    return super.count(type);
  }
  override async clear(): Promise<void> {
    this.#fail();
    return super.clear();
  }
  // The memory backend reads its records from one snapshot of its own, not through list and load.
  override async *records(): AsyncIterableIterator<StoredRecord> {
    this.#fail();
    yield* super.records();
  }
}

const doc = (id: string, body = id) => Object.assign(new Doc(id), { body });

const test = suite('storage failures');

test('every store operation turns a system error into a BackendError naming the store, the action and the object (bug: raw ENOSPC)', async () => {
  const backend = new FullDisk();
  const store = new Store({ backend, cache: false });
  await store.save(doc('kept'));
  await store.save(Object.assign(new Box('box'), { docs: [doc('inside')] }));
  backend.failing = true;
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['save', () => store.save(doc('a')), /^memory: cannot save Doc "a": ENOSPC: no space left on device/],
    ['saveMany', () => store.saveMany([doc('a'), doc('b')]), /^memory: cannot save a batch of 2 objects: ENOSPC/],
    ['load', () => store.load(Doc, 'kept'), /^memory: cannot load Doc "kept": ENOSPC/],
    ['load a container', () => store.load(Box, 'box'), /^memory: cannot load Box "box": ENOSPC/],
    ['delete', () => store.delete(Doc, 'kept'), /^memory: cannot delete Doc "kept": ENOSPC/],
    ['exists', () => store.exists(Doc, 'kept'), /^memory: cannot check Doc "kept": ENOSPC/],
    ['count', () => store.count(Doc), /^memory: cannot count Doc: ENOSPC/],
    ['list', () => store.list(Doc), /^memory: cannot list Doc: ENOSPC/],
    ['listAll', () => store.listAll(), /^memory: cannot list: ENOSPC/],
    ['clear', () => store.clear(), /^memory: cannot clear: ENOSPC/],
    ['exportData', () => store.exportData(), /^memory: cannot export: ENOSPC/],
    ['verify', () => store.verify(), /^memory: cannot verify: ENOSPC/],
    ['upgrade', () => store.upgrade(Doc), /^memory: cannot upgrade Doc: ENOSPC/],
  ];
  for (const [name, run, message] of cases) {
    const error = await rejects(run, BackendError, message);
    assert.is(error.code, 'ERR_BACKEND', name);
    assert.is(error.systemCode, 'ENOSPC', name);
    assert.is(error.details.store, 'memory', name);
    assert.is(error.details.file, '/data/x.json', name);
    assert.is((error.cause as { code: string }).code, 'ENOSPC', `${name}: the original error is the cause`);
  }
  backend.failing = false;
  assert.is((await store.load(Doc, 'kept')).body, 'kept', 'nothing was lost');
});

test('errors that are not the storage failing pass through unchanged', async () => {
  const backend = new InMemoryBackend();
  backend.write = async () => {
    throw new RangeError('a bug');
  };
  const error = await rejects(new Store({ backend }).save(doc('a')), RangeError, /a bug/);
  assert.not.instance(error, BackendError);
});

test.run();

/** Runs `fn` on a tmpfs of `size` mounted at a fresh folder, unmounted afterwards. Needs root. */
async function onTmpfs(size: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir('cuttle-full-');
  const mount = join(dir.path, 'disk');
  mkdirSync(mount);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mount]);
  try {
    await fn(mount);
  } finally {
    execFileSync('umount', ['-l', mount]);
    dir.remove();
  }
}

const root = process.getuid?.() === 0;
const disk = suite(root ? 'a full disk' : 'a full disk (skipped: mounting a small tmpfs needs root)');
const BODY = 'x'.repeat(32 * 1024);

const BACKENDS: Array<[string, (dir: string) => StorageBackend, RegExp]> = [
  ['file', (dir) => new FileBackend({ path: join(dir, 'objects'), durable: false }), /^ENOSPC$/],
  ['sqlite', (dir) => new SqliteBackend({ path: join(dir, 'app.db') }), /^SQLITE_FULL$|^SQLITE_IOERR/],
];

for (const [name, open, systemCode] of BACKENDS) {
  (root ? disk : disk.skip)(`${name}: saves fail with a BackendError naming the store and object; every acknowledged save is kept`, async () => {
    await onTmpfs('1m', async (dir) => {
      const backend = open(dir);
      const store = new Store({ backend, cache: false });
      const saved: string[] = [];
      let failure: BackendError | undefined;
      for (let i = 0; i < 200 && failure === undefined; i++) {
        try {
          await store.save(doc(`d${i}`, BODY + i));
          saved.push(`d${i}`);
        } catch (error) {
          if (!(error instanceof BackendError)) throw error;
          failure = error;
        }
      }
      assert.ok(failure, 'the disk filled up');
      assert.match(failure.systemCode!, systemCode);
      assert.match(failure.message, new RegExp(`^${name}:.* cannot save Doc "d${saved.length}"`));
      assert.ok(saved.length > 5, `${saved.length} saves before the disk was full`);
      for (const id of saved) assert.is((await store.load(Doc, id)).body, BODY + id.slice(1), `${id} survives`);
      await store.delete(Doc, saved[0]!);
      await store.delete(Doc, saved[1]!);
      await store.close();
    });
  });
}

disk.run();
