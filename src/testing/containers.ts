// Containers through a Store on any backend: part of the conformance suite (backendSuite calls
// containerSuite), so every backend shows that references, shared identity, cycles, deep chains,
// dangling references, cascades, gc and verify work on it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError, Container, DanglingReferenceError, Serializable, Store, UnknownTypeError, type StorageBackend } from '../core.js';
import type { BackendSuiteOptions } from './options.js';
import { rejects } from './assert.js';

class Note extends Serializable {
  static override typeName = 'CNote';
  text = '';
}
class Folder extends Container {
  static override typeName = 'CFolder';
  name = '';
  notes: Note[] = [];
  children: Folder[] = [];
  byKey = new Map<unknown, unknown>();
  tags = new Set<unknown>();
  meta: Record<string, unknown> = {};
  parent?: Folder;
}
class Link extends Container {
  static override typeName = 'CLink';
  next?: Link;
}

const note = (id: string, text = id) => Object.assign(new Note(id), { text });
const folder = (id: string, name = id) => Object.assign(new Folder(id), { name });

interface Context {
  backend: StorageBackend;
  store: Store;
  /** A second store on the same backend, with its cache off: every load reads the backend. */
  cold: Store;
}

export function containerSuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions = {}): void {
  const test = suite<Context>(`conformance: ${name} containers`, {} as Context);

  test.before.each(async (context) => {
    context.backend = await makeBackend();
    context.store = new Store({ backend: context.backend });
    context.cold = new Store({ backend: context.backend, cache: false, registry: context.store.registry });
  });
  test.after.each(async ({ backend }) => {
    await backend.close();
    await options.teardown?.();
  });

  test('references are stored as references, not copies', async ({ store, backend }) => {
    const f = folder('f');
    f.notes.push(note('n1'));
    await store.save(f);
    const record = await backend.load('CFolder', 'f');
    assert.is(record?.kind, 'container');
    assert.not.match(record!.content, /"text"/, 'the note is not copied into the folder');
    assert.is((await backend.load('CNote', 'n1'))?.kind, 'object');
  });

  test('nested containers keep their ids and classes', async ({ store, cold }) => {
    const root = folder('root');
    const mid = folder('mid');
    const leaf = folder('leaf');
    root.children.push(mid);
    mid.children.push(leaf);
    leaf.notes.push(note('deep'));
    await store.save(root);
    const back = await cold.load(Folder, 'root');
    const backMid = back.children[0]!;
    assert.instance(backMid, Folder);
    assert.is(backMid.id, 'mid');
    assert.is(backMid.children[0]!.id, 'leaf');
    assert.instance(backMid.children[0]!.notes[0], Note);
    assert.is(backMid.children[0]!.notes[0]!.text, 'deep');
  });

  test('references in arrays, plain objects, Map keys and values, Set members', async ({ store, cold }) => {
    const f = folder('f');
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((id) => note(id));
    f.notes = [a!, b!];
    f.meta = { owner: c, nested: { list: [d, 'text', 3] } };
    f.byKey = new Map<unknown, unknown>([['x', e], [a, 'note a as a key'], [1, new Date(0)]]);
    f.tags = new Set<unknown>(['plain', b, 7]);
    await store.save(f);
    const back = await cold.load(Folder, 'f');
    assert.equal(back.notes.map((n) => n.id), ['a', 'b']);
    assert.is((back.meta.owner as Note).id, 'c');
    assert.is(((back.meta.nested as { list: Note[] }).list[0] as Note).id, 'd');
    assert.equal((back.meta.nested as { list: unknown[] }).list.slice(1), ['text', 3]);
    assert.is((back.byKey.get('x') as Note).id, 'e');
    const [firstKey] = [...back.byKey.keys()].filter((key) => key instanceof Note) as Note[];
    assert.is(firstKey, back.notes[0], 'a Map key resolves to the same instance as the array entry');
    assert.is(back.byKey.get(firstKey), 'note a as a key');
    assert.equal([...back.byKey.keys()].map((k) => (k instanceof Note ? `note:${k.id}` : k)), ['x', 'note:a', 1], 'Map order kept');
    assert.equal([...back.tags].map((t) => (t instanceof Note ? `note:${t.id}` : t)), ['plain', 'note:b', 7], 'Set order kept');
    assert.ok([...back.tags].includes(back.notes[1]), 'Set member is the shared instance');
  });

  test('a reference to a type this store never registered asks for Storage.register', async ({ store, backend }) => {
    const f = folder('f');
    f.notes = [note('n')];
    await store.save(f);
    const fresh = new Store({ backend });
    await rejects(fresh.load(Folder, 'f'), UnknownTypeError, /Unknown type "CNote".*Storage\.register/);
    fresh.register(Note);
    assert.is((await fresh.load(Folder, 'f')).notes[0]!.text, 'n');
  });

  test('a shared child loads as one instance', async ({ store, cold }) => {
    const shared = note('shared');
    const f = folder('f');
    const g = folder('g');
    f.notes = [shared, shared];
    f.children = [g];
    g.notes = [shared];
    await store.save(f);
    const back = await cold.load(Folder, 'f');
    assert.ok(back.notes[0] === back.notes[1]);
    assert.ok(back.children[0]!.notes[0] === back.notes[0]);
  });

  test('cycles save and load as cycles', async ({ store, cold }) => {
    const a = folder('a');
    const b = folder('b');
    a.children.push(b);
    b.parent = a;
    a.parent = a;
    await store.save(a);
    const back = await cold.load(Folder, 'a');
    assert.ok(back.children[0]!.parent === back, 'a -> b -> a');
    assert.ok(back.parent === back, 'a -> a');
  });

  test('a chain of 10,000 containers saves and loads without overflowing the stack', async ({ store, cold }) => {
    const head = new Link('link-0');
    let tail = head;
    for (let i = 1; i < 10_000; i++) tail = tail.next = new Link(`link-${i}`);
    await store.save(head);
    assert.is(await cold.count(Link), 10_000);
    let back: Link | undefined = await cold.load(Link, 'link-0');
    let length = 0;
    while (back) {
      length++;
      back = back.next;
    }
    assert.is(length, 10_000);
  });

  test('a dangling reference names the container, the path and the target', async ({ store, cold }) => {
    const f = folder('f');
    f.notes = [note('n0'), note('gone')];
    f.byKey.set('a', note('gone-too'));
    await store.save(f);
    await store.delete(Note, 'gone');
    const error = await rejects(cold.load(Folder, 'f'), DanglingReferenceError, /CFolder "f" at notes\[1\] refers to CNote "gone"/);
    assert.is(error.path, 'notes[1]');
    assert.equal(error.target, { type: 'CNote', id: 'gone' });
    assert.is(error.code, 'ERR_DANGLING_REFERENCE');
    await store.delete(Note, 'gone-too');
    f.notes = [note('n0')];
    await store.save(f);
    await rejects(cold.load(Folder, 'f'), DanglingReferenceError, /at byKey\.get\("a"\)/);
    const lenient = await cold.load(Folder, 'f', { dangling: 'undefined' });
    assert.is(lenient.byKey.get('a'), undefined);
    assert.is(lenient.notes[0]!.id, 'n0');
  });

  test("cascade 'new' saves unsaved children only; 'all' every one; 'none' only the container", async ({ store, cold }) => {
    const stored = await store.save(note('stored', 'v1'));
    const f = folder('f');
    f.notes = [stored, note('fresh')];
    stored.text = 'v2 (not saved)';
    await store.save(f);
    assert.is((await cold.load(Note, 'fresh')).text, 'fresh');
    assert.is((await cold.load(Note, 'stored')).text, 'v1', "'new' leaves stored children alone");
    await store.save(f, { cascade: 'all' });
    assert.is((await cold.load(Note, 'stored')).text, 'v2 (not saved)');
    const g = folder('g');
    g.notes = [note('never')];
    await store.save(g, { cascade: 'none' });
    assert.is(await cold.exists(Note, 'never'), false);
    await rejects(cold.load(Folder, 'g'), DanglingReferenceError);
  });

  if (options.atomicBatches) {
    test('a cascade save is one atomic batch: a conflict on the container writes no child', async ({ store, cold }) => {
      const f = await store.save(folder('f'));
      const other = await cold.load(Folder, 'f');
      await cold.save(other);
      f.notes = [note('child')];
      await rejects(store.save(f, { expectedVersion: store.versionOf(f) }), ConflictError);
      assert.is(await cold.exists(Note, 'child'), false);
    });
  }

  test('loading through the cache reuses cached children', async ({ store }) => {
    const child = await store.save(note('c'));
    const f = folder('f');
    f.notes = [child];
    await store.save(f);
    store.cache.delete(Folder, 'f');
    const back = await store.load(Folder, 'f');
    assert.ok(back.notes[0] === child, 'the cached note instance');
    assert.ok((await store.load(Folder, 'f')) === back, 'the loaded folder is cached');
  });

  test('a Serializable holding a stored object embeds it by value', async ({ store, cold, backend }) => {
    class Card extends Serializable {
      static override typeName = 'CCard';
      attachment?: Note;
    }
    const card = Object.assign(new Card('card'), { attachment: note('inside', 'embedded') });
    await store.save(card);
    assert.is(await backend.exists('CNote', 'inside'), false, 'not stored separately');
    const back = await cold.load(Card, 'card');
    assert.instance(back.attachment, Note);
    assert.is(back.attachment!.text, 'embedded');
  });

  test('gc deletes what no root reaches (through Map values too) and dryRun only reports', async ({ store, cold }) => {
    const root = folder('root');
    const kept = folder('kept');
    root.byKey.set('k', kept);
    kept.notes = [note('kept-note')];
    root.tags.add(note('set-note'));
    await store.save(root);
    await store.saveMany([note('orphan'), folder('orphan-folder')]);
    const wouldDelete = await store.gc([root], { dryRun: true });
    assert.equal(wouldDelete, { CFolder: ['orphan-folder'], CNote: ['orphan'] });
    assert.is(await cold.exists(Note, 'orphan'), true, 'dryRun deletes nothing');
    const deleted = await store.gc([root]);
    assert.equal(deleted, wouldDelete);
    assert.equal(await cold.listAll(), { CFolder: ['kept', 'root'], CNote: ['kept-note', 'set-note'] });
    assert.is(await store.get(Note, 'orphan'), undefined, 'gc drops cache entries');
    await rejects(store.gc([folder('not-stored')]), Error, /not found/);
  });

  test('verify lists dangling references with their paths', async ({ store }) => {
    const f = folder('f');
    f.notes = [note('a'), note('b')];
    f.meta = { pick: note('c') };
    await store.save(f);
    assert.equal((await store.verify()).dangling, []);
    await store.delete(Note, 'b');
    await store.delete(Note, 'c');
    const report = await store.verify();
    assert.is(report.checked, 2);
    assert.equal(report.unreadable, []);
    assert.equal(report.dangling, [
      { from: { type: 'CFolder', id: 'f' }, path: 'notes[1]', target: { type: 'CNote', id: 'b' } },
      { from: { type: 'CFolder', id: 'f' }, path: 'meta.pick', target: { type: 'CNote', id: 'c' } },
    ]);
  });

  test.run();
}
