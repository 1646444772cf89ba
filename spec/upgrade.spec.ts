// Storage.upgrade and `cuttle upgrade` (issue #21) beyond the conformance section
// (src/testing/versions.ts): an upgrade killed half-way finishes when run again, and the CLI
// upgrades the classes a module exports.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Container, DanglingReferenceError, InMemoryBackend, Serializable, SqliteBackend, Storage, Store } from '../src/index.js';
import { cuttle } from './cli-helpers.js';
import { rejects, tempDir } from './helpers.js';
import { Note, OldNote } from './upgrade-classes.js';

const WORKER = fileURLToPath(new URL('./fixtures/upgrade-worker.ts', import.meta.url));
const test = suite('upgrade');

async function seed(path: string, count: number): Promise<void> {
  const store = new Store({ backend: new SqliteBackend({ path }) });
  await store.saveMany(Array.from({ length: count }, (_, i) => Object.assign(new OldNote(`n${String(i).padStart(4, '0')}`), { body: `line ${i}\nsecond` })));
  await store.close();
}

/** How many records of Note are at version 2 (the content says so), and how many are not. */
async function versions(path: string): Promise<{ current: number; old: number }> {
  const backend = new SqliteBackend({ path });
  let current = 0;
  let old = 0;
  for await (const record of backend.records()) {
    if (record.content.startsWith('{"typeVersion":2,')) current++;
    else old++;
  }
  await backend.close();
  return { current, old };
}

test('an upgrade killed half-way (SIGKILL) leaves whole records, and running it again finishes the rest', async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'app.db');
    await seed(path, 1000);
    const killed = spawnSync(process.execPath, ['--import', 'tsx', WORKER, path, '400'], { encoding: 'utf8' });
    assert.is(killed.signal, 'SIGKILL', killed.stderr);
    const between = await versions(path);
    assert.ok(between.current >= 400 && between.current < 1000, `${between.current} upgraded before the kill`);
    assert.is(between.current + between.old, 1000);
    const resumed = spawnSync(process.execPath, ['--import', 'tsx', WORKER, path], { encoding: 'utf8' });
    assert.is(resumed.status, 0, resumed.stderr);
    assert.equal(JSON.parse(resumed.stdout), { checked: 1000, upgraded: between.old });
    assert.equal(await versions(path), { current: 1000, old: 0 });
    const store = new Store({ backend: new SqliteBackend({ path }) });
    const note = await store.load(Note, 'n0123');
    assert.equal(note.lines, ['line 123', 'second']);
    assert.is(store.versionOf(note), 2);
    await store.close();
  } finally {
    dir.remove();
  }
});

test('Storage.upgrade upgrades the default store', async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'default.db');
    await seed(path, 3);
    Storage.configure('sqlite', { path });
    assert.equal(await Storage.upgrade(Note), { checked: 3, upgraded: 3 });
    await Storage.close();
    assert.equal(await versions(path), { current: 3, old: 0 });
  } finally {
    Storage.configure('memory');
    dir.remove();
  }
});

test('cuttle upgrade <store> <module> --type UpgradeNote rewrites the records of the classes the module exports', async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, 'app.db');
    await seed(path, 250);
    const module = join(dir.path, 'classes.mjs');
    const cuttleUrl = new URL('../dist/index.js', import.meta.url).href;
    writeFileSync(
      module,
      `import { Serializable } from ${JSON.stringify(cuttleUrl)};\n` +
        'export class Note extends Serializable { static typeName = "UpgradeNote"; static version = 2; static upgrade(data) { return { lines: data.body.split("\\n") }; } }\n' +
        'export class Other extends Serializable {}\n' +
        'export const notAClass = 1;\n',
    );
    let result = cuttle(['upgrade', path, module, '--type', 'UpgradeNote']);
    assert.is(result.code, 0, result.stderr);
    assert.match(result.stderr, /UpgradeNote: 250 of 250 objects upgraded to version 2/);
    assert.equal(await versions(path), { current: 250, old: 0 });
    result = cuttle(['upgrade', path, module, '-q']);
    assert.is(result.code, 0, result.stderr);
    result = cuttle(['upgrade', path, module, '--type', 'Nope']);
    assert.is(result.code, 2);
    assert.match(result.stderr, /no class "Nope" in .*classes\.mjs \(it exports UpgradeNote, Other\)/);
    result = cuttle(['upgrade', path, join(dir.path, 'missing.mjs')]);
    assert.is(result.code, 1);
    assert.match(result.stderr, /cannot import/);
  } finally {
    dir.remove();
  }
});

test('a container referring to a deleted object stops the upgrade with DanglingReferenceError and is left as stored', async () => {
  class Leaf extends Serializable {
    static override typeName = 'UpgradeLeaf';
  }
  class OldBox extends Container {
    static override typeName = 'UpgradeBox';
    leaves: Leaf[] = [];
  }
  class Box extends Container {
    static override typeName = 'UpgradeBox';
    static version = 2;
    static upgrade(data: object) {
      return data;
    }
    leaves: Leaf[] = [];
  }
  const backend = new InMemoryBackend();
  const old = new Store({ backend });
  await old.save(Object.assign(new OldBox('box'), { leaves: [new Leaf('gone')] }));
  await old.delete(Leaf, 'gone');
  const before = await backend.load('UpgradeBox', 'box');
  const now = new Store({ backend });
  now.register(Leaf);
  await rejects(now.upgrade(Box), DanglingReferenceError);
  assert.equal(await backend.load('UpgradeBox', 'box'), before);
});

test.run();
