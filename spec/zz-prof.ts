import { SqliteBackend } from '../src/backends/sqlite.js';
import { Serializable, Store } from '../src/index.js';
class Note extends Serializable { static override typeName = 'Note'; static searchable = ['title', 'body']; title = ''; body = ''; }
const store = new Store({ backend: new SqliteBackend({ path: process.argv[2]! }) });
const w = process.argv[3]!;
console.log((await store.search(Note, w, { limit: 10 })).length);
const st = performance.now();
for (let i = 0; i < 10; i++) await store.search(Note, w, { limit: 10 });
console.log(((performance.now() - st) / 10).toFixed(2), 'ms');
await store.close();
