import { SqliteBackend } from '../src/backends/sqlite.js';
import { Serializable, Store } from '../src/index.js';
class Note extends Serializable { static override typeName = 'Note'; static searchable = ['title', 'body']; title = ''; body = ''; }
let seed = 11;
const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'zé', 'po', 'da', 'fi', 'gu', 'hè', 'jo'];
const WORDS = Array.from({ length: 20_000 }, (_, k) => { let word = ''; for (let x = k + 1; x > 0; x = Math.floor(x / SYLLABLES.length)) word += SYLLABLES[x % SYLLABLES.length]; return word; });
const word = () => WORDS[Math.min(WORDS.length - 1, Math.floor(Math.exp(random() * Math.log(WORDS.length))) - 1)]!;
const words = (count: number) => Array.from({ length: count }, word).join(' ');
const store = new Store({ backend: new SqliteBackend({ path: '/tmp/fts100k.db' }) });
await store.saveMany(Array.from({ length: 100000 }, (_, i) => Object.assign(new Note(`note-${String(i).padStart(6, '0')}`), { title: words(3 + Math.floor(random() * 4)), body: words(20 + Math.floor(random() * 21)) })));
await store.search(Note, 'x');
await store.close();
