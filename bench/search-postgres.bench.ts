// Full-text search at N = 100,000 on PostgreSQL: cuttle's search served by its GIN index
// (postgres-search.ts), and the same search by the store's scan (a second backend on the table
// with its `search` taken away: what a store does on a backend without one); the index's build
// time and size, and what it costs a save. The notes and searches are bench/search.bench.ts's
// kind (Zipf-like words, some accented). The schema is dropped at the end.
//
//   npm run bench -- search-postgres [--quick]
//   CUTTLE_PG_URL=postgres://... to use another server (default: postgres@127.0.0.1:5432/test)
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { tokenize } from '../dist/query/search.js';
import { Serializable, Store } from '../dist/index.js';
import { PostgresBackend } from '../dist/postgres.js';
import { machine, measure, quick, report, type Measurement } from './harness.js';
import { makeNotes, Note, WORDS, words } from './search-data.js';

/** The same notes without `searchable`: what a save costs without the index. */
class PlainNote extends Serializable {
  static override typeName = 'PlainNote';
  title = '';
  body = '';
}

const url = process.env.CUTTLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const n = quick ? 10_000 : 100_000;
const rounds = quick ? 3 : 5;
const schema = `cuttle_sbench_${process.pid}`;
const raw = new pg.Pool({ connectionString: url, max: 2 });
console.log(`${machine()}; PostgreSQL ${(await raw.query('SHOW server_version')).rows[0].server_version}; N = ${n}${quick ? ' (--quick)' : ''}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

const notes = makeNotes(n);

const backend = new PostgresBackend({ connectionString: url, schema, max: 4 });
const store = new Store({ backend });
let started = performance.now();
await store.saveMany(notes);
console.log(`\n${n} notes saved (saveMany, no index yet) in ${(performance.now() - started).toFixed(0)} ms`);

// The scan: a second backend on the table, without its search.
const scanBackend = new PostgresBackend({ connectionString: url, schema, max: 4 });
Object.defineProperty(scanBackend, 'search', { value: undefined });
const scan = new Store({ backend: scanBackend });

const size = async (relation: string) => Number((await raw.query(`SELECT pg_total_relation_size($1)`, [`"${schema}".${relation}`])).rows[0].pg_total_relation_size);
const objectsSize = await size('objects');
started = performance.now();
await store.search(Note, 'ka'); // makes the index over the stored notes
const built = performance.now() - started;
const indexSize = await size('objects_search');
console.log(
  `GIN index on title, body: built in ${built.toFixed(0)} ms over ${n} rows (and one search); ` +
    `objects_search with its indexes: ${(indexSize / 1024 / 1024).toFixed(1)} MB (objects with its key: ${(objectsSize / 1024 / 1024).toFixed(1)} MB)`,
);

// Documents per token, to pick words by how many notes hold them.
const holding = new Map<string, number>();
for (const note of notes) for (const token of new Set(tokenize(`${note.title} ${note.body}`))) holding.set(token, (holding.get(token) ?? 0) + 1);
const wordWith = (hits: number) => tokenize(WORDS.find((candidate) => (holding.get(tokenize(candidate)[0]!) ?? 0) <= hits)!)[0]!;
const rare = wordWith(Math.max(10, n / 1000));
const common = wordWith(n / 10);
const prefix = rare.slice(0, 4);
const pair = [common, wordWith(n / 20)];
const phraseNote = tokenize(notes[7]!.body);
const phrase = `"${phraseNote[3]} ${phraseNote[4]}"`;
const searches: Record<string, string> = {
  [`rare word (${holding.get(rare)} hits)`]: rare,
  [`common word, top 10 (${holding.get(common)} hits)`]: common,
  [`prefix ${prefix}*`]: `${prefix}*`,
  [`two words`]: pair.join(' '),
  [`phrase`]: phrase,
};

const explain = async (text: string) => {
  const { sql, values } = backend.searchStatements('Note', [{ kind: 'word', token: text }]);
  return (await raw.query({ text: `EXPLAIN ${sql.matches}`, values })).rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n    ');
};
console.log(`\nplan of the rare word's matches:\n    ${await explain(rare)}`);

const rows: Measurement[] = [];
for (const [name, text] of Object.entries(searches)) {
  const limit = name.includes('top 10') ? 10 : undefined;
  const indexed = await store.search(Note, text, { limit });
  const scanned = await scan.search(Note, text, { limit });
  if (indexed.map((note) => note.id).join() !== scanned.map((note) => note.id).join()) throw new Error(`${name}: the index and the scan disagree`);
  const found = limit === undefined ? ` -> ${indexed.length}` : '';
  rows.push(await measure(`${name}${found}: cuttle, GIN index`, 10, () => store.search(Note, text, { limit }), rounds));
  rows.push(await measure(`${name}${found}: cuttle, scan`, 1, () => scan.search(Note, text, { limit }), 2));
}
report(`Search (N = ${n}; answers of index and scan checked equal)`, rows);
console.log('\nthe same, as time per search:');
for (const row of rows) console.log(`  ${row.name.padEnd(60)} ${(1000 / row.opsPerSec).toFixed(row.opsPerSec > 100 ? 2 : 0).padStart(8)} ms`);

// What the index costs a write: single saves (autocommit) and batches of 100 of notes like the
// others, of the searchable class and of the same class without `searchable`, on the same table.
const fresh = <T extends Note | PlainNote>(Class: new (id: string) => T, prefix: string) => (i: number) => Object.assign(new Class(`${prefix}-${i}`), { title: words(4), body: words(30) });
const note = fresh(Note, 'new');
const plain = fresh(PlainNote, 'plain');
const saves: Measurement[] = [];
saves.push(await measure('save, no searchable', 500, (i) => store.save(plain(i)), rounds));
saves.push(await measure('save, searchable (GIN index)', 500, (i) => store.save(note(i)), rounds));
report('Saves of one ~35-word note (autocommit; after the first round, updates of the same notes)', saves, 'save, no searchable');
const batches: Measurement[] = [];
batches.push(await measure('saveMany of 100, no searchable', 20, (i) => store.saveMany(Array.from({ length: 100 }, (_, j) => plain(100_000 + i * 100 + j))), rounds));
batches.push(await measure('saveMany of 100, searchable', 20, (i) => store.saveMany(Array.from({ length: 100 }, (_, j) => note(100_000 + i * 100 + j))), rounds));
report('Batches of 100 such notes (one transaction each)', batches, 'saveMany of 100, no searchable');

await store.close();
await scan.close();
await raw.query(`DROP SCHEMA "${schema}" CASCADE`);
await raw.end();
