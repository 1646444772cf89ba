// Generated documents and search texts for the full-text index specs: words that tokenize in every
// tricky way (accents, compatibility forms, case, non-Latin scripts, hyphens), seeded so a failure
// repeats; and the checks those specs share: a store with the index against a scanning one.
import * as assert from 'uvu/assert';
import { measure, statsOf, toSearch } from '../src/query/search.js';
import { Serializable, type StorageBackend, type Store } from '../src/index.js';

/** A searchable document; some carry values the index cannot read as strings (Dates, BigInts, shared references). */
export class Doc extends Serializable {
  static override typeName = 'Doc';
  static searchable = ['title', 'body', 'tags'];
  title = '';
  body = '';
  tags: unknown[] = [];
  when?: Date;
  big?: bigint;
  extra?: unknown;
}

export const WORDS = ['milk', 'Milch', 'café', 'cafe', 'CAFÉ', 'naïve', 'naive', 'e\u0301te', 'été', '日本', 'テキスト', 'ｆｕｌｌ', 'full', 'straße', 'strasse', 'İstanbul', 'ﬁne', 'fine', 'Ωmega', 'ωmega', 'x2', '2x', 'co-op', 'coop', 'mil', 'milky', 'Ǆemal', 'ǆ', 'ἀλφα', 'alpha', 'ar\u0645\u0631\u062d\u0628\u0627'];
const SEPARATORS = [' ', ' ', ', ', '. ', ' - ', '\n', ' 😀 ', '/'];

/** A seeded generator. */
export function random(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}
const pick = <T>(next: () => number, values: readonly T[]): T => values[Math.floor(next() * values.length)]!;

/** `words` words drawn from {@link WORDS}. */
export function text(next: () => number, words: number): string {
  let out = '';
  for (let i = 0; i < words; i++) out += (i === 0 ? '' : pick(next, SEPARATORS)) + pick(next, WORDS);
  return out;
}

/** `count` documents `${prefix}0`...: some with tags (strings and other values), a Date, a BigInt, or shared references. */
export function docs(next: () => number, count: number, prefix = 'd'): Doc[] {
  return Array.from({ length: count }, (_, i) => {
    const doc = Object.assign(new Doc(`${prefix}${i}`), { title: text(next, Math.floor(next() * 4)), body: text(next, Math.floor(next() * 12)) });
    const kind = next();
    if (kind < 0.3) doc.tags = [text(next, 2), text(next, 1)];
    else if (kind < 0.35) doc.tags = [text(next, 1), 7, null, text(next, 2)];
    else if (kind < 0.4) doc.tags = [text(next, 1), new Date(0)];
    else if (kind < 0.5) doc.when = new Date(1e12);
    else if (kind < 0.55) doc.big = 10n;
    else if (kind < 0.6) {
      const shared = { note: text(next, 1) };
      doc.extra = [shared, shared]; // superjson's shared references: the store decodes this one
    }
    return doc;
  });
}

/** A search text of 1-3 terms: words, prefixes and phrases of {@link WORDS}. */
export function query(next: () => number): string {
  const terms: string[] = [];
  const n = 1 + Math.floor(next() * 3);
  for (let i = 0; i < n; i++) {
    const kind = next();
    const word = pick(next, WORDS);
    if (kind < 0.5) terms.push(word);
    else if (kind < 0.75) terms.push(`${[...word].slice(0, 1 + Math.floor(next() * 3)).join('')}*`);
    else terms.push(`"${word} ${pick(next, WORDS)}"`);
  }
  return terms.join(' ');
}

/** `count` search texts from `seed`. */
export const queries = (seed: number, count: number): string[] => {
  const next = random(seed);
  return Array.from({ length: count }, () => query(next));
};

/** A store on a backend with a full-text index, and a store that scans (memory), to compare. */
export interface SearchPair {
  readonly backend: StorageBackend;
  readonly store: Store;
  readonly scan: Store;
}

/** Counts the listings of `backend` (a scan lists the type; the index does not). */
export function countLists(backend: StorageBackend, listed: string[]): void {
  const list = backend.list.bind(backend);
  backend.list = (type) => {
    listed.push(type);
    return list(type);
  };
}

/** Saves `objs` in both stores (copies, so each store has its own instances). */
export async function saveBoth(pair: SearchPair, objs: readonly Doc[]): Promise<void> {
  await pair.store.saveMany(objs);
  await pair.scan.saveMany(objs.map((doc) => Object.assign(new Doc(doc.id), doc)));
}

/** Asserts the two stores answer `texts` alike, in order; returns how many answers were not empty. */
export async function sameSearches(pair: SearchPair, texts: readonly string[], options?: { fields?: string[]; limit?: number }): Promise<number> {
  let found = 0;
  for (const q of texts) {
    const indexed = (await pair.store.search(Doc, q, options)).map((doc) => doc.id);
    const scanned = (await pair.scan.search(Doc, q, options)).map((doc) => doc.id);
    assert.equal(indexed, scanned, `search ${JSON.stringify(q)} ${JSON.stringify(options ?? {})}`);
    if (indexed.length > 0) found++;
  }
  return found;
}

/**
 * Asserts the index's statistics (documents, tokens, documents per term) and matches are those of
 * the objects stored, once the unjudged records are counted in: what ranking reads, so an index out
 * of step shows here first.
 * @returns how many records the index left unjudged (at the last text), and how many there are.
 */
export async function sameStats(pair: SearchPair, texts: readonly string[]): Promise<{ unjudged: number; documents: number }> {
  await pair.store.search(Doc, 'x'); // makes the index, before the type's first search
  const all = new Map((await pair.scan.find(Doc)).map((doc) => [doc.id, { id: doc.id, data: { ...doc } }]));
  let unjudged = 0;
  for (const q of texts) {
    const search = toSearch(q, undefined, Doc.searchable, 'Doc');
    const answer = await pair.backend.search!('Doc', search.fields, search.terms, 1);
    assert.ok(answer !== undefined, 'the index answers');
    const expected = statsOf(search, [...all.values()].map((candidate) => measure(search, candidate)));
    const left = statsOf(search, answer.unjudged.map((record) => measure(search, all.get(record.id)!)));
    const actual = { documents: answer.documents + left.documents, length: answer.length + left.length, having: answer.having.map((n, t) => n + left.having[t]!) };
    assert.equal(actual, expected, `statistics of ${JSON.stringify(q)}`);
    const judgedMatches = [...all.values()].filter((candidate) => measure(search, candidate).counts.every((n) => n > 0) && !answer.unjudged.some((record) => record.id === candidate.id));
    assert.equal([...answer.ids].sort(), judgedMatches.map((candidate) => candidate.id).sort(), `matches of ${JSON.stringify(q)}`);
    unjudged = answer.unjudged.length;
  }
  return { unjudged, documents: all.size };
}

/**
 * The scenario both index specs run: 400 generated documents, 300 generated searches, then with a
 * limit and with other fields (the scan), each compared by `same` (the spec's own check, which may
 * look at the statistics too); only the searches of other fields may list the type.
 */
export async function generatedSearches(
  pair: SearchPair & { readonly listed: readonly string[] },
  same: (texts: readonly string[], options?: { fields?: string[]; limit?: number }) => Promise<number>,
): Promise<void> {
  await saveBoth(pair, docs(random(2), 400));
  const found = await same(queries(3, 300));
  assert.ok(found > 100, `only ${found} queries found anything`);
  await same(queries(4, 50), { limit: 3 });
  await same(queries(5, 30), { fields: ['body', 'tags'] });
  assert.equal(await same(['milk'], { fields: ['tags', 'body', 'title'] }), 1);
  assert.is(pair.listed.length, 30, 'only the searches of other fields scanned');
}
