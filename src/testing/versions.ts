// Type versions: part of the conformance suite for every backend (they live in the codec, but the
// records must carry them through each backend unchanged). An older class and a newer class of
// one type name are two stores' registries on the same backend, as an old and a new release of
// an application would be.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Container, Serializable, Store, TypeVersionError, type StorageBackend } from '../core.js';
import { rejects } from './assert.js';
import type { BackendSuiteOptions } from './options.js';

/** The steps the newest class's upgrade was called for, in order. */
let steps: number[] = [];

class NoteV1 extends Serializable {
  static override typeName = 'VersionedNote';
  title = '';
  when = new Date(0);
}
class NoteV2 extends Serializable {
  static override typeName = 'VersionedNote';
  static version = 2;
  static upgrade(data: { title: string }, from: number) {
    steps.push(from);
    return { ...data, tags: [] as string[] };
  }
  title = '';
  when = new Date(0);
  tags: string[] = [];
}
/** 1 -> 2 adds tags, 2 -> 3 renames title to heading. */
class NoteV3 extends Serializable {
  static override typeName = 'VersionedNote';
  static version = 3;
  static upgrade(data: Record<string, unknown>, from: number) {
    steps.push(from);
    if (from === 1) return { ...data, tags: [] };
    const { title, ...rest } = data;
    return { ...rest, heading: title };
  }
  heading = '';
  when = new Date(0);
  tags: string[] = [];
}
class NoUpgrade extends Serializable {
  static override typeName = 'VersionedNote';
  static version = 2;
}
class Failing extends Serializable {
  static override typeName = 'VersionedNote';
  static version = 2;
  static upgrade() {
    throw new RangeError('no way');
  }
}
class Other extends Serializable {
  static override typeName = 'VersionedOther';
  n = 0;
}
class BoxV1 extends Container {
  static override typeName = 'VersionedBox';
  label = '';
  notes: Serializable[] = [];
}
class BoxV2 extends Container {
  static override typeName = 'VersionedBox';
  static version = 2;
  static upgrade(data: { label: string }) {
    return { ...data, label: data.label.toUpperCase() };
  }
  label = '';
  notes: Serializable[] = [];
}
class HolderV1 extends Serializable {
  static override typeName = 'VersionedHolder';
  inner: Serializable | undefined;
}

const v1 = (id: string, title: string) => Object.assign(new NoteV1(id), { title, when: new Date(5) });

interface Context {
  backend: StorageBackend;
  /** The old release: classes at version 1. */
  old: Store;
  /** The new release's store: a registry of its own, on the same backend. */
  now: Store;
}

export function versionSuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions): void {
  const test = suite<Context>(`conformance: ${name} type versions`, {} as Context);
  test.before.each(async (context) => {
    steps = [];
    context.backend = await makeBackend();
    context.old = new Store({ backend: context.backend });
    context.now = new Store({ backend: context.backend });
  });
  test.after.each(async ({ backend }) => {
    await backend.close();
    await options.teardown?.();
  });

  test('a class at version 1 writes content without a version, as before type versions existed', async ({ backend, old }) => {
    await old.save(v1('a', 'hi'));
    const content = (await backend.load('VersionedNote', 'a'))!.content;
    assert.ok(content.startsWith('{"json":'), content);
    assert.not.match(content, /typeVersion/);
  });

  test('a version-1 record loads through the class at version 3, upgraded 1 -> 2 -> 3 in order; a cached load upgrades nothing', async ({ old, now }) => {
    await old.save(v1('a', 'hi'));
    const note = await now.load(NoteV3, 'a');
    assert.instance(note, NoteV3);
    assert.equal(steps, [1, 2]);
    assert.is(note.heading, 'hi');
    assert.equal(note.tags, []);
    assert.is(note.when.getTime(), 5);
    assert.not.ok('title' in note);
    assert.is(await now.load(NoteV3, 'a'), note);
    assert.equal(steps, [1, 2]);
  });

  test('saving an upgraded object writes the current version; loading it again calls no upgrade', async ({ backend, old, now }) => {
    await old.save(v1('a', 'hi'));
    await now.save(await now.load(NoteV3, 'a'));
    assert.ok((await backend.load('VersionedNote', 'a'))!.content.startsWith('{"typeVersion":3,'));
    steps = [];
    const again = await now.load(NoteV3, 'a', { cache: false });
    assert.equal(steps, []);
    assert.is(again.heading, 'hi');
  });

  test('a version-2 record is upgraded from 2 only', async ({ now, backend }) => {
    const middle = new Store({ backend });
    await middle.save(Object.assign(new NoteV2('b'), { title: 't', tags: ['x'] }));
    const note = await now.load(NoteV3, 'b');
    assert.equal(steps, [2]);
    assert.equal(note.tags, ['x']);
    assert.is(note.heading, 't');
  });

  test('a record newer than the class is a TypeVersionError naming the type, the id and both versions, and it stays as stored', async ({ backend, old, now }) => {
    await now.save(Object.assign(new NoteV3('n'), { heading: 'new' }));
    const before = (await backend.load('VersionedNote', 'n'))!.content;
    const error = await rejects(old.load(NoteV1, 'n'), TypeVersionError, /VersionedNote "n" was stored by version 3 of VersionedNote, newer than this class \(version 1\)/);
    assert.is(error.code, 'ERR_TYPE_VERSION');
    assert.equal([error.type, error.id, error.storedVersion, error.classVersion], ['VersionedNote', 'n', 3, 1]);
    await rejects(old.get(NoteV1, 'n'), TypeVersionError);
    await rejects(old.upgrade(NoteV1), TypeVersionError);
    assert.is((await backend.load('VersionedNote', 'n'))!.content, before);
  });

  test('an older record for a class without upgrade, or whose upgrade throws, is a TypeVersionError', async ({ old, backend }) => {
    await old.save(v1('a', 'hi'));
    await rejects(new Store({ backend }).load(NoUpgrade, 'a'), TypeVersionError, /stored by version 1 of VersionedNote, which is at version 2 and has no static upgrade/);
    const error = await rejects(new Store({ backend }).load(Failing, 'a'), TypeVersionError, /VersionedNote\.upgrade\(data, 1\) failed, upgrading version 1 to 2: no way/);
    assert.instance(error.cause, RangeError);
  });

  test('upgrade rewrites every stale record in batches, skips current ones and other types; a second run rewrites none', async ({ backend, old, now }) => {
    await old.saveMany(Array.from({ length: 10 }, (_, i) => v1(`n${i}`, `t${i}`)));
    await old.save(Object.assign(new Other('o'), { n: 1 }));
    await now.save(Object.assign(new NoteV3('z-current'), { heading: 'h' }));
    const progress: unknown[] = [];
    const summary = await now.upgrade(NoteV3, { batchSize: 4, onProgress: (p) => progress.push(p) });
    assert.equal(summary, { checked: 11, upgraded: 10 });
    assert.equal(progress, [
      { done: 4, total: 11, upgraded: 4 },
      { done: 8, total: 11, upgraded: 8 },
      { done: 11, total: 11, upgraded: 10 },
    ]);
    for (const id of await backend.list('VersionedNote')) {
      assert.ok((await backend.load('VersionedNote', id))!.content.startsWith('{"typeVersion":3,'), id);
    }
    assert.is((await backend.load('VersionedNote', 'z-current'))!.version, 1);
    assert.is((await backend.load('VersionedOther', 'o'))!.version, 1);
    steps = [];
    assert.equal(await now.upgrade(NoteV3), { checked: 11, upgraded: 0 });
    assert.equal(steps, []);
    const loaded = await now.load(NoteV3, 'n7', { cache: false });
    assert.is(loaded.heading, 't7');
    assert.is(now.versionOf(loaded), 2);
  });

  test('containers and embedded documents are upgraded where they are read', async ({ backend, old }) => {
    const note = v1('inside', 'embedded');
    await old.save(Object.assign(new BoxV1('box'), { label: 'inbox', notes: [v1('ref', 'referenced')] }));
    await old.save(Object.assign(new HolderV1('holder'), { inner: note }));
    const now = new Store({ backend });
    now.register(NoteV3);
    const box = await now.load(BoxV2, 'box');
    assert.is(box.label, 'INBOX');
    assert.instance(box.notes[0], NoteV3);
    assert.is((box.notes[0] as NoteV3).heading, 'referenced');
    class HolderNow extends Serializable {
      static override typeName = 'VersionedHolder';
      inner: Serializable | undefined;
    }
    const holder = await now.load(HolderNow, 'holder');
    assert.instance(holder.inner, NoteV3);
    assert.is((holder.inner as NoteV3).heading, 'embedded');
    assert.equal(await now.upgrade(BoxV2), { checked: 1, upgraded: 1 });
    assert.ok((await backend.load('VersionedBox', 'box'))!.content.startsWith('{"typeVersion":2,'));
    // The box alone was rewritten (cascade 'none'): its note keeps its own version.
    assert.is((await backend.load('VersionedNote', 'ref'))!.version, 1);
  });

  test('a dump of version-1 records imports unchanged and loads upgraded', async ({ old, backend }) => {
    await old.save(v1('a', 'from a dump'));
    const dump = await old.exportData();
    await old.clear();
    const now = new Store({ backend });
    await now.importData(dump);
    assert.is((await backend.load('VersionedNote', 'a'))!.content, dump.records[0]!.content);
    assert.is((await now.load(NoteV3, 'a')).heading, 'from a dump');
  });

  test('static version must be a positive integer', async ({ now }) => {
    class Bad extends Serializable {
      static override typeName = 'VersionedBad';
      static version = 1.5;
    }
    try {
      await now.save(new Bad());
      assert.unreachable('saved with version 1.5');
    } catch (error) {
      assert.instance(error, TypeError);
      assert.match((error as Error).message, /Bad\.version must be a positive integer, got number 1\.5/);
    }
  });

  test.run();
}
