// Namespaces on any backend: part of the conformance suite (backendSuite calls namespaceSuite).
// Two namespaces and the default one share one backend object; every Store call in one must
// leave the others as they were, in both directions, and an object of one type and id in two
// namespaces is two objects with their own versions. A namespace is a prefix of the stored type
// (src/namespace.ts), so this also checks that the backend stores and lists `alpha:T` types.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError, Container, InvalidOptionError, NamespacedBackend, Serializable, Store, type StorageBackend, type StoreChange } from '../core.js';
import { nextTurn } from '../next-turn.js';
import { rejects } from './assert.js';
import type { BackendSuiteOptions } from './options.js';

class Note extends Serializable {
  static override typeName = 'NsNote';
  text = '';
}
class Box extends Container {
  static override typeName = 'NsBox';
  notes: Note[] = [];
}

const note = (id: string, text: string) => Object.assign(new Note(id), { text });
const nextIteration = () => new Promise<void>((resolve) => nextTurn(resolve));

interface Context {
  backend: StorageBackend;
  alpha: Store;
  beta: Store;
  /** The default namespace. */
  plain: Store;
}

/** What each store holds: listAll and the text of every note. */
async function contents(store: Store): Promise<{ all: Record<string, string[]>; texts: string[] }> {
  const all = await store.listAll();
  const texts: string[] = [];
  for (const id of all.NsNote ?? []) texts.push(`${id}=${(await store.load(Note, id, { cache: false })).text}`);
  return { all, texts };
}

export function namespaceSuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions = {}): void {
  const test = suite<Context>(`conformance: ${name} namespaces`, {} as Context);
  test.before.each(async (context) => {
    context.backend = await makeBackend();
    context.plain = new Store({ backend: context.backend });
    context.alpha = new Store({ backend: context.backend, namespace: 'alpha', registry: context.plain.registry });
    context.beta = new Store({ backend: context.backend, namespace: 'beta', registry: context.plain.registry });
    context.plain.register(Note, Box);
  });
  test.after.each(async ({ backend }) => {
    await backend.close();
    await options.teardown?.();
  });

  /** Saves one note `x` (and one more, per store) in each namespace, with text naming the namespace. */
  async function fill({ alpha, beta, plain }: Context): Promise<void> {
    await alpha.saveMany([note('x', 'alpha'), note('a-only', 'alpha')]);
    await beta.saveMany([note('x', 'beta'), note('b-only', 'beta')]);
    await plain.saveMany([note('x', 'plain'), note('p-only', 'plain')]);
  }

  test('one type and id in two namespaces are two objects: load, get, exists, list, listAll, count', async (context) => {
    const { alpha, beta, plain } = context;
    await fill(context);
    assert.is((await alpha.load(Note, 'x')).text, 'alpha');
    assert.is((await beta.load(Note, 'x')).text, 'beta');
    assert.is((await plain.load(Note, 'x')).text, 'plain');
    assert.is(await alpha.get(Note, 'b-only'), undefined);
    assert.is(await beta.get(Note, 'p-only'), undefined);
    assert.is(await plain.get(Note, 'a-only'), undefined);
    assert.is(await alpha.exists(Note, 'p-only'), false);
    assert.is(await plain.exists(Note, 'b-only'), false);
    assert.equal(await alpha.list(Note), ['a-only', 'x']);
    assert.equal(await beta.list(Note), ['b-only', 'x']);
    assert.equal(await plain.list(Note), ['p-only', 'x']);
    assert.equal(await alpha.listAll(), { NsNote: ['a-only', 'x'] });
    assert.equal(await plain.listAll(), { NsNote: ['p-only', 'x'] });
    assert.is(await beta.count(Note), 2);
    assert.is(alpha.namespace, 'alpha');
    assert.is(plain.namespace, '');
  });

  test('the backend stores a namespace as a prefix of the type, the default namespace as before', async (context) => {
    await fill(context);
    assert.equal(await context.backend.listTypes(), ['NsNote', 'alpha:NsNote', 'beta:NsNote']);
    assert.equal(await context.backend.list('alpha:NsNote'), ['a-only', 'x']);
    const stored: string[] = [];
    for await (const record of context.backend.records()) stored.push(`${record.type}/${record.id}`);
    assert.equal(stored, ['NsNote/p-only', 'NsNote/x', 'alpha:NsNote/a-only', 'alpha:NsNote/x', 'beta:NsNote/b-only', 'beta:NsNote/x']);
  });

  test('versions are per namespace; a version check in one ignores the others', async (context) => {
    const { alpha, beta } = context;
    const a = await alpha.save(note('v', 'alpha 1'));
    await alpha.save(a);
    await alpha.save(a);
    const b = await beta.save(note('v', 'beta 1'));
    assert.is(alpha.versionOf(a), 3);
    assert.is(beta.versionOf(b), 1);
    await beta.save(b, { expectedVersion: 1 });
    // A conflict names the type as the store knows it, not as it is stored.
    const conflict = await rejects(alpha.save(a, { expectedVersion: 2 }), ConflictError);
    assert.equal([conflict.type, conflict.id, conflict.expectedVersion, conflict.actualVersion], ['NsNote', 'v', 2, 3]);
    assert.is(conflict.message, 'NsNote "v": expected version 2, but the stored version is 3');
    await alpha.delete(a, { expectedVersion: 3 });
    assert.is((await beta.load(Note, 'v')).text, 'beta 1');
    assert.is(beta.versionOf(b), 2);
  });

  test('clear empties its own namespace only, the default one included', async (context) => {
    const { alpha, beta, plain } = context;
    await fill(context);
    await alpha.clear();
    assert.equal(await alpha.listAll(), {});
    assert.equal((await contents(beta)).texts, ['b-only=beta', 'x=beta']);
    assert.equal((await contents(plain)).texts, ['p-only=plain', 'x=plain']);
    await plain.clear();
    assert.equal(await plain.listAll(), {});
    assert.equal((await contents(beta)).texts, ['b-only=beta', 'x=beta']);
    await alpha.save(note('again', 'alpha'));
    assert.equal(await alpha.list(Note), ['again']);
  });

  test('delete, gc and verify see their own namespace only', async (context) => {
    const { alpha, beta, plain } = context;
    await fill(context);
    const box = Object.assign(new Box('box'), { notes: [note('in-box', 'alpha')] });
    await alpha.save(box);
    await beta.delete(Note, 'x');
    assert.is((await alpha.load(Note, 'x')).text, 'alpha');
    assert.is((await plain.load(Note, 'x')).text, 'plain');
    // gc from a root in alpha: the default namespace's and beta's notes are not garbage of alpha's.
    const garbage = await alpha.gc([box]);
    assert.equal(garbage, { NsNote: ['a-only', 'x'] });
    assert.equal(await alpha.listAll(), { NsBox: ['box'], NsNote: ['in-box'] });
    assert.equal(await beta.list(Note), ['b-only']);
    assert.equal(await plain.list(Note), ['p-only', 'x']);
    // A dangling reference in beta (its own note deleted) is beta's report alone.
    const betaBox = Object.assign(new Box('box'), { notes: [note('b-only', 'beta')] });
    await beta.save(betaBox, { cascade: 'none' });
    await beta.delete(Note, 'b-only');
    const betaReport = await beta.verify();
    assert.is(betaReport.dangling.length, 1);
    assert.is(betaReport.checked, 1);
    const alphaReport = await alpha.verify();
    assert.equal(alphaReport.dangling, []);
    assert.is(alphaReport.checked, 2);
    assert.is((await plain.verify()).checked, 2);
  });

  test('exportData holds one namespace, with the namespace in its header and plain types in its records', async (context) => {
    const { alpha, plain } = context;
    await fill(context);
    const dump = await alpha.exportData();
    assert.is(dump.header.namespace, 'alpha');
    assert.equal(dump.records.map((record) => `${record.type}/${record.id}`), ['NsNote/a-only', 'NsNote/x']);
    const plainDump = await plain.exportData();
    assert.is(plainDump.header.namespace, undefined, 'the default namespace writes no namespace');
    assert.equal(plainDump.records.map((record) => `${record.type}/${record.id}`), ['NsNote/p-only', 'NsNote/x']);
  });

  test('importData into a store of another namespace moves a dump there, leaving the rest', async (context) => {
    const { backend, alpha, beta, plain } = context;
    await fill(context);
    const dump = await alpha.exportData();
    const gamma = new Store({ backend, namespace: 'gamma', registry: plain.registry });
    assert.equal(await gamma.importData(dump), { count: 2 });
    assert.equal((await contents(gamma)).texts, ['a-only=alpha', 'x=alpha']);
    assert.equal((await contents(alpha)).texts, ['a-only=alpha', 'x=alpha']);
    // A replacing import replaces that namespace's objects only.
    await beta.importData(dump, { mode: 'replace' });
    assert.equal((await contents(beta)).texts, ['a-only=alpha', 'x=alpha']);
    assert.equal((await contents(plain)).texts, ['p-only=plain', 'x=plain']);
    await plain.importData(await beta.exportData(), { mode: 'replace' });
    assert.equal((await contents(plain)).texts, ['a-only=alpha', 'x=alpha']);
    assert.equal(await gamma.list(Note), ['a-only', 'x']);
    // The version each record had is kept.
    assert.is(await gamma.count(Note), 2);
  });

  test('watch: a store hears its own namespace, from its own saves and a sibling store of it, and nothing of the others', async (context) => {
    const { backend, alpha, beta, plain } = context;
    const alphaTwin = new Store({ backend, namespace: 'alpha', registry: plain.registry, cache: false });
    const heard: Record<string, string[]> = { alpha: [], beta: [], plain: [] };
    const record = (into: string[]) => (change: StoreChange) =>
      into.push(change.reset === true ? 'reset' : `${change.local ? 'local' : 'outside'} ${change.deleted ? 'delete' : 'save'} ${change.type}/${change.id}`);
    const stops = [alpha.watch(record(heard.alpha!)), beta.watch(record(heard.beta!)), plain.watch(record(heard.plain!))];
    const cached = await alpha.save(note('w', 'alpha'));
    await alphaTwin.save(note('w', 'alpha twin'));
    await beta.save(note('w', 'beta'));
    await beta.delete(Note, 'w');
    await plain.save(note('p', 'plain'));
    await nextIteration();
    backend.pollChanges?.();
    await options.peerSettles?.();
    assert.equal(heard.alpha, ['local save NsNote/w', 'outside save NsNote/w']);
    assert.equal(heard.beta, ['local save NsNote/w', 'local delete NsNote/w']);
    assert.equal(heard.plain, ['local save NsNote/p']);
    // The twin's save dropped alpha's cached copy; beta's and the default one's did not touch it.
    assert.is.not(await alpha.load(Note, 'w'), cached);
    assert.is((await alpha.load(Note, 'w')).text, 'alpha twin');
    for (const stop of stops) stop();
  });

  if (options.peer) {
    test("a peer's changes reach the stores of their namespace only", async (context) => {
      const { alpha, beta, plain } = context;
      const peer = await options.peer!(context.backend);
      try {
        const theirs = new Store({ backend: peer, namespace: 'alpha', registry: plain.registry });
        const heard: string[] = [];
        const stops = [alpha, beta, plain].map((store) =>
          store.watch((change) => heard.push(`${store.namespace || 'default'}: ${change.reset === true ? 'reset' : `${change.type}/${change.id}`}`)),
        );
        const mine = await alpha.save(note('q', 'mine'));
        await theirs.save(Object.assign(await theirs.load(Note, 'q'), { text: 'theirs' }));
        const alphaHeard = () => heard.filter((line) => line === 'alpha: NsNote/q').length;
        for (let i = 0; i < 100 && alphaHeard() < 2; i++) {
          await nextIteration();
          context.backend.pollChanges?.();
          await options.peerSettles?.();
        }
        assert.equal(heard.filter((line) => !line.startsWith('alpha')), [], 'beta and the default namespace hear nothing');
        assert.is(alphaHeard(), 2, `alpha hears its save and the peer's: ${heard.join('; ')}`);
        assert.is.not(await alpha.load(Note, 'q'), mine);
        assert.is((await alpha.load(Note, 'q')).text, 'theirs');
        for (const stop of stops) stop();
      } finally {
        await peer.close();
      }
    });
  }

  if (options.transactions) {
  test('a transaction in one namespace reads and writes that namespace only', async (context) => {
    const { alpha, beta } = context;
    await alpha.save(note('t', 'alpha'));
    await beta.save(note('t', 'beta'));
    await alpha.transaction(async (tx) => {
      const loaded = await tx.load(Note, 't');
      assert.is(loaded.text, 'alpha');
      loaded.text = 'alpha in tx';
      await tx.save(loaded);
      await tx.save(note('t2', 'alpha'));
      assert.is(await tx.exists(Note, 'b-only'), false);
    });
    assert.is((await beta.load(Note, 't', { cache: false })).text, 'beta');
    assert.is(await beta.exists(Note, 't2'), false);
    assert.equal(await alpha.list(Note), ['t', 't2']);
  });
  }

  test('an invalid namespace is an InvalidOptionError naming it; namespaces do not nest', async ({ backend }) => {
    for (const bad of ['a:b', '1abc', 'x'.repeat(65), 'with space']) {
      const error = await rejects(Promise.resolve().then(() => new Store({ backend, namespace: bad })), InvalidOptionError);
      assert.match(error.message, JSON.stringify(bad.length > 60 ? bad.slice(0, 60) + '…' : bad));
    }
    const view = new NamespacedBackend(backend, 'alpha');
    assert.throws(() => new NamespacedBackend(view, 'beta'), (error: unknown) => error instanceof InvalidOptionError);
    assert.throws(() => new Store({ backend: view, namespace: 'beta' }), (error: unknown) => error instanceof InvalidOptionError);
    assert.is(new Store({ backend: view }).namespace, 'alpha');
    assert.is(new Store({ backend, namespace: '' }).namespace, '', "'' is the default namespace");
  });

  test.run();
}
