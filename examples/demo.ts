// `npm start`: saves and loads a few objects, the way an application would.
import { Serializable, Storage } from 'cuttle';

class Note extends Serializable {
  title = '';
  tags = new Set<string>();
  createdAt = new Date();
}

Storage.configure('memory');

const note = Object.assign(new Note(), { title: 'Buy milk', tags: new Set(['home']) });
await Storage.save(note);
console.log(`saved   Note ${note.id} (version ${Storage.versionOf(note)})`);

note.tags.add('today');
await note.save();
console.log(`saved   Note ${note.id} again (version ${Storage.versionOf(note)})`);

const loaded = await Storage.load(Note, note.id, { cache: false });
console.log(`loaded  ${loaded.constructor.name} "${loaded.title}", tags ${[...loaded.tags].join(', ')}, created ${loaded.createdAt.toISOString()}`);

await Storage.saveMany(['Call mum', 'Water plants'].map((title) => Object.assign(new Note(), { title })));
console.log(`stored  ${await Storage.count(Note)} notes:`, await Storage.list(Note));
console.log('cache  ', Storage.cache.stats());
await Storage.close();
