// Full-text search at N = 100,000 on SQLite: cuttle's search served by its FTS5 index, the same
// search by the store's scan (the path every other backend takes), and raw better-sqlite3 FTS5
// (unicode61, its own bm25 ranking: the ceiling, not the same answers) on the same texts; the
// index's build time and size, and what it costs a save.
//
//   npm run bench -- search [--quick]
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteBackend } from '../dist/backends/sqlite.js';
import { Store } from '../dist/index.js';
import { machine, measure, quick, report, type Measurement } from './harness.js';
import { makeNotes, Note, WORDS, words } from './search-data.js';

const n = quick ? 10_000 : 100_000;
const rounds = quick ? 3 : 5;
const dir = mkdtempSync(join(tmpdir(), 'cuttle-sbench-'));
console.log(`${machine()}; N = ${n}${quick ? ' (--quick)' : ''}`);
console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

const notes = makeNotes(n);

const path = join(dir, 's.db');
const backend = new SqliteBackend({ path });
const store = new Store({ backend });
await store.saveMany(notes);

// The scan: a second backend on the file, without its search (what a store does on a backend without one).
const scanBackend = new SqliteBackend({ path });
Object.defineProperty(scanBackend, 'search', { value: undefined });
const scan = new Store({ backend: scanBackend });

const raw = new Database(path);
const sizeOf = () => (raw.pragma('page_count', { simple: true }) as number) * (raw.pragma('page_size', { simple: true }) as number);
const before = sizeOf();
let started = performance.now();
await store.search(Note, WORDS[0]!); // makes the index over the stored notes
const built = performance.now() - started;
const after = sizeOf();
console.log(`\nFTS5 index on title, body: built in ${built.toFixed(0)} ms over ${n} rows (and one search); the file grew by ${((after - before) / 1024 / 1024).toFixed(1)} MB`);

// Raw FTS5 over the texts themselves, as an application would write it without cuttle.
started = performance.now();
raw.exec(`CREATE VIRTUAL TABLE bench_fts USING fts5(id UNINDEXED, title, body, tokenize = 'unicode61 remove_diacritics 2')`);
raw.exec(`INSERT INTO bench_fts (id, title, body) SELECT id, json_extract(content, '$.json.title'), json_extract(content, '$.json.body') FROM objects WHERE type = 'Note'`);
console.log(`raw FTS5 table (unicode61, the texts): built in ${(performance.now() - started).toFixed(0)} ms`);
const rawSearch = raw.prepare(`SELECT o.content FROM bench_fts f JOIN objects o ON o.type = 'Note' AND o.id = f.id WHERE bench_fts MATCH ? ORDER BY rank LIMIT ?`);

const count = (text: string) => raw.prepare(`SELECT count(*) FROM bench_fts WHERE bench_fts MATCH ?`).pluck().get(text) as number;
/** A word that about `hits` notes hold. */
const wordWith = (hits: number) => WORDS.find((candidate) => count(`"${candidate}"`) <= hits)!;
const rare = wordWith(Math.max(10, n / 1000));
const common = wordWith(n / 10);
const prefix = rare.slice(0, 4);
const pair = [common, wordWith(n / 20)];
const phraseNote = notes[7]!.body.split(' ');
const phrase = `"${phraseNote[3]} ${phraseNote[4]}"`;
const searches: Record<string, [text: string, fts: string]> = {
  [`rare word (${count(`"${rare}"`)} hits)`]: [rare, `"${rare}"`],
  [`common word, top 10 (${count(`"${common}"`)} hits)`]: [common, `"${common}"`],
  [`prefix ${prefix}* (${count(`"${prefix}"*`)} hits)`]: [`${prefix}*`, `"${prefix}"*`],
  [`two words (${count(`"${pair[0]}" "${pair[1]}"`)} hits)`]: [pair.join(' '), pair.map((w) => `"${w}"`).join(' ')],
  [`phrase (${count(phrase)} hits)`]: [phrase, phrase],
};

const rows: Measurement[] = [];
for (const [name, [text, fts]] of Object.entries(searches)) {
  const limit = name.includes('top 10') ? 10 : undefined;
  const indexed = await store.search(Note, text, { limit });
  const scanned = await scan.search(Note, text, { limit });
  if (indexed.map((note) => note.id).join() !== scanned.map((note) => note.id).join()) throw new Error(`${name}: the index and the scan disagree`);
  rows.push(await measure(`${name}: cuttle, FTS5 index`, 20, () => store.search(Note, text, { limit }), rounds));
  rows.push(await measure(`${name}: cuttle, scan`, 1, () => scan.search(Note, text, { limit }), 3));
  rows.push(await measure(`${name}: raw FTS5 + JSON.parse`, 20, () => (rawSearch.all(fts, limit ?? -1) as Array<{ content: string }>).map((row) => JSON.parse(row.content)), rounds));
}
report(`Search (N = ${n}; answers of index and scan checked equal)`, rows);
console.log('\nthe same, as time per search:');
for (const row of rows) console.log(`  ${row.name.padEnd(60)} ${(1000 / row.opsPerSec).toFixed(row.opsPerSec > 100 ? 2 : 0).padStart(8)} ms`);

// What the index costs a write: single saves of notes like the others, with and without it.
const plainStore = new Store({ backend: new SqliteBackend({ path: join(dir, 'plain.db') }) });
const fresh = (i: number) => Object.assign(new Note(`new-${i}`), { title: words(4), body: words(30) });
const saves: Measurement[] = [];
saves.push(await measure('save (autocommit), no search index', 500, (i) => plainStore.save(fresh(i)), rounds));
saves.push(await measure('save (autocommit), FTS5 index kept in step', 500, (i) => store.save(fresh(i)), rounds));
report('Saves of one ~40-word note', saves);

await store.close();
await scan.close();
await plainStore.close();
raw.close();
if (process.env.KEEP) console.log(path); else rmSync(dir, { recursive: true, force: true });
