// `npm start`: saves and loads a few objects in ./data/cuttle.db, the way an application would.
import { Container, Serializable, Storage } from 'cuttle';

class Note extends Serializable {
  title = '';
  tags = new Set<string>();
  createdAt = new Date();
}

class Notebook extends Container {
  name = '';
  notes: Note[] = [];
}

Storage.configure('sqlite', { path: './data/cuttle.db' });
console.log(`store   ${Storage.store.backend.name}`);

const note = Object.assign(new Note(), { title: 'Buy milk', tags: new Set(['home']) });
await Storage.save(note);
console.log(`saved   Note ${note.id} (version ${Storage.versionOf(note)})`);

note.tags.add('today');
await note.save();
console.log(`saved   Note ${note.id} again (version ${Storage.versionOf(note)})`);

const loaded = await Storage.load(Note, note.id, { cache: false });
console.log(`loaded  ${loaded.constructor.name} "${loaded.title}", tags: ${[...loaded.tags].join(', ')}, created ${loaded.createdAt.toISOString()}`);

const book = Object.assign(new Notebook('demo-notebook'), { name: 'Errands' });
book.notes.push(note, Object.assign(new Note(), { title: 'Call mum' }));
await Storage.save(book);
const back = await Storage.load(Notebook, 'demo-notebook', { cache: false });
console.log(`loaded  Notebook "${back.name}" with ${back.notes.length} notes: ${back.notes.map((n) => n.title).join(', ')}`);

console.log(`stored  ${await Storage.count(Note)} notes and ${await Storage.count(Notebook)} notebook in ./data/cuttle.db (run again: the notes add up)`);
const { hits, misses, size } = Storage.cache.stats();
console.log(`cache   ${hits} hits, ${misses} misses, ${size} objects held`);
await Storage.close();
