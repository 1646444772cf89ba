// The notes and words of the full-text search benches (bench/search.bench.ts on SQLite,
// bench/search-postgres.bench.ts on PostgreSQL): the same on every run.
import { Serializable } from '../dist/index.js';

/** The benches' searchable class. */
export class Note extends Serializable {
  static override typeName = 'Note';
  static searchable = ['title', 'body'];
  title = '';
  body = '';
}

let seed = 11;
const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
// 20,000 words, drawn Zipf-like (word k about 1/k as often), a few with accents.
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'zé', 'po', 'da', 'fi', 'gu', 'hè', 'jo'];
/** The words, most frequent first. */
export const WORDS = Array.from({ length: 20_000 }, (_, k) => {
  let word = '';
  for (let x = k + 1; x > 0; x = Math.floor(x / SYLLABLES.length)) word += SYLLABLES[x % SYLLABLES.length];
  return word;
});
const word = () => WORDS[Math.min(WORDS.length - 1, Math.floor(Math.exp(random() * Math.log(WORDS.length))) - 1)]!;

/** `count` words drawn Zipf-like, joined by spaces. */
export const words = (count: number): string => Array.from({ length: count }, word).join(' ');

/** `n` notes (a title of 3-6 words, a body of 20-40), drawn from one seeded generator. */
export function makeNotes(n: number): Note[] {
  return Array.from({ length: n }, (_, i) =>
    Object.assign(new Note(`note-${String(i).padStart(6, '0')}`), { title: words(3 + Math.floor(random() * 4)), body: words(20 + Math.floor(random() * 21)) }),
  );
}
