// A document field named `constructor` is data: the class of a stored object is found through its
// prototype, never through `obj.constructor`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Container, Serializable, Store } from '../src/index.js';

class Note extends Serializable {
  static override typeName = 'Note';
  title = '';
}
class Folder extends Container {
  static override typeName = 'Folder';
  notes: Note[] = [];
}
class Page extends Serializable {
  static override typeName = 'Page';
  note?: Note;
}

/** A Note with an own field `constructor` holding a string. */
const shadowed = (id: string) => Object.assign(new Note(id), { constructor: 'hello' });

const test = suite('a field named constructor');

test('a Serializable with an own constructor field saves and loads back with it (bug: TypeError "... got \\"hello\\"" at save)', async () => {
  const store = new Store();
  await store.save(shadowed('n'));
  const back = await store.load(Note, 'n', { cache: false });
  assert.instance(back, Note);
  assert.is(Object.getOwnPropertyDescriptor(back, 'constructor')?.value, 'hello');
  assert.is(store.versionOf(back), 1);
  await store.save(back);
  assert.is(store.versionOf(back), 2);
  assert.ok(await store.delete(back));
});

test('in a container (cascaded and referenced) and embedded in a document', async () => {
  const store = new Store();
  const folder = Object.assign(new Folder('f'), { notes: [shadowed('a')] });
  await store.save(folder);
  await store.save(Object.assign(new Page('p'), { note: shadowed('b') }));
  const loaded = await store.load(Folder, 'f', { cache: false });
  assert.instance(loaded.notes[0], Note);
  assert.is(Object.getOwnPropertyDescriptor(loaded.notes[0], 'constructor')?.value, 'hello');
  const page = await store.load(Page, 'p', { cache: false });
  assert.instance(page.note, Note);
  assert.is(Object.getOwnPropertyDescriptor(page.note, 'constructor')?.value, 'hello');
  assert.equal(Object.entries(await store.gc([loaded], { dryRun: true })), [['Page', ['p']]]);
});

test.run();
