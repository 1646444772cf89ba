/**
 * Generated documents and search texts for the full-text index section of the conformance suite
 * (search-index.ts) and the backends' own search specs: words that tokenize in every tricky way
 * (accents, compatibility forms, case, non-Latin scripts, hyphens), from a seeded generator so a
 * failure repeats; and the checks they share: a store on the backend with the index against a
 * store that scans (memory), whose answer is the reference ranking of src/query/search.ts.
 * @module
 */
import * as assert from 'uvu/assert';
import { Serializable, type StorageBackend, type Store } from '../core.js';
import { measure, measureText, statsOf, toSearch } from '../query/search.js';
import { seededRandom } from './random.js';

/** A searchable document; some carry values the index cannot read as strings (Dates, BigInts, shared references). */
export class SearchDoc extends Serializable {
  static override typeName = 'SearchDoc';
  static searchable = ['title', 'body', 'tags'];
  title = '';
  body = '';
  tags: unknown[] = [];
  when?: Date;
  big?: bigint;
  extra?: unknown;
}

/** {@link SearchDoc} at type version 2 with only `title` searchable: a class change that rebuilds its index. */
export class NarrowSearchDoc extends Serializable {
  static override typeName = SearchDoc.typeName;
  static searchable = ['title'];
  static version = 2;
  static upgrade(data: unknown) {
    return data;
  }
  title = '';
  body = '';
}

/** The words documents and searches are made of: each tokenizes in a way some index gets wrong. */
export const WORDS: readonly string[] = ['milk', 'Milch', 'café', 'cafe', 'CAFÉ', 'naïve', 'naive', 'e\u0301te', 'été', '日本', 'テキスト', 'ｆｕｌｌ', 'full', 'straße', 'strasse', 'İstanbul', 'ﬁne', 'fine', 'Ωmega', 'ωmega', 'x2', '2x', 'co-op', 'coop', 'mil', 'milky', 'Ǆemal', 'ǆ', 'ἀλφα', 'alpha', 'ar\u0645\u0631\u062d\u0628\u0627'];
const SEPARATORS = [' ', ' ', ', ', '. ', ' - ', '\n', ' 😀 ', '/'];

const pick = <T>(next: () => number, values: readonly T[]): T => values[Math.floor(next() * values.length)]!;

/** `words` words drawn from {@link WORDS}, between separators of every kind. */
export function text(next: () => number, words: number): string {
  let out = '';
  for (let i = 0; i < words; i++) out += (i === 0 ? '' : pick(next, SEPARATORS)) + pick(next, WORDS);
  return out;
}

/** `count` documents `${prefix}0`...: some with tags (strings and other values), a Date, a BigInt, or shared references. */
export function docs(next: () => number, count: number, prefix = 'd'): SearchDoc[] {
  return Array.from({ length: count }, (_, i) => {
    const doc = Object.assign(new SearchDoc(`${prefix}${i}`), { title: text(next, Math.floor(next() * 4)), body: text(next, Math.floor(next() * 12)) });
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
export function queries(seed: number, count: number): string[] {
  const next = seededRandom(seed);
  return Array.from({ length: count }, () => query(next));
}

/** A store on a backend with a full-text index, and a store that scans (memory), to compare. */
export interface SearchPair {
  readonly backend: StorageBackend;
  readonly store: Store;
  readonly scan: Store;
}

/** Options of a search, as the checks pass them on. */
export interface PairSearchOptions {
  fields?: string[];
  limit?: number;
}

/** Records in `listed` each type `backend` lists from now on (a scan lists the type; an index does not). */
export function countLists(backend: StorageBackend, listed: string[]): void {
  const list = backend.list.bind(backend);
  backend.list = (type) => {
    listed.push(type);
    return list(type);
  };
}

/** Saves `objs` in both stores (copies, so each store has its own instances). */
export async function saveBoth(pair: SearchPair, objs: readonly SearchDoc[]): Promise<void> {
  await pair.store.saveMany(objs);
  await pair.scan.saveMany(objs.map((doc) => Object.assign(new SearchDoc(doc.id), doc)));
}

/** Deletes `ids` from both stores. */
export async function deleteBoth(pair: SearchPair, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await pair.store.delete(SearchDoc, id);
    await pair.scan.delete(SearchDoc, id);
  }
}

/** Asserts the two stores answer `texts` alike, in order; returns how many answers were not empty. */
export async function sameSearches(pair: SearchPair, texts: readonly string[], options?: PairSearchOptions): Promise<number> {
  let found = 0;
  for (const q of texts) {
    const indexed = (await pair.store.search(SearchDoc, q, options)).map((doc) => doc.id);
    const scanned = (await pair.scan.search(SearchDoc, q, options)).map((doc) => doc.id);
    assert.equal(indexed, scanned, `search ${JSON.stringify(q)} ${JSON.stringify(options ?? {})}: the index's answer (actual) is not the scan's (expected)`);
    if (indexed.length > 0) found++;
  }
  return found;
}

/**
 * Asserts what the backend's `search` answers (statistics: documents, tokens, documents per term;
 * the matches, and each match's text and token count) is that of the objects stored, once the
 * unjudged records are counted in: what the store ranks from, so an index out of step shows here
 * first, by name.
 * @returns how many records the index left unjudged (at the last text), and how many there are.
 */
export async function sameStats(pair: SearchPair, texts: readonly string[]): Promise<{ unjudged: number; documents: number }> {
  const type = SearchDoc.typeName;
  await pair.store.search(SearchDoc, 'x'); // makes the index, before the type's first search
  const all = new Map((await pair.scan.find(SearchDoc)).map((doc) => [doc.id, { id: doc.id, data: { ...doc } }]));
  let unjudged = 0;
  for (const q of texts) {
    const search = toSearch(q, undefined, SearchDoc.searchable, type);
    const answer = await pair.backend.search?.(type, search.fields, search.terms, 1);
    assert.ok(answer !== undefined, `${pair.backend.name}: search(${JSON.stringify(type)}, ...) of the searchable fields answered undefined (no index) after the store made one`);
    for (const record of answer.unjudged) assert.ok(all.has(record.id), `search ${JSON.stringify(q)}: unjudged record ${JSON.stringify(record.id)} is not stored`);
    const expected = statsOf(search, [...all.values()].map((candidate) => measure(search, candidate)));
    const left = statsOf(search, answer.unjudged.map((record) => measure(search, all.get(record.id)!)));
    const actual = { documents: answer.documents + left.documents, length: answer.length + left.length, having: answer.having.map((n, t) => n + (left.having[t] ?? 0)) };
    assert.equal(actual, expected, `statistics of ${JSON.stringify(q)} (documents, tokens, documents holding each term), the unjudged counted in`);
    const unjudgedIds = new Set(answer.unjudged.map((record) => record.id));
    const judgedMatches = [...all.values()].filter((candidate) => measure(search, candidate).counts.every((n) => n > 0) && !unjudgedIds.has(candidate.id));
    assert.equal([...answer.ids].sort(), judgedMatches.map((candidate) => candidate.id).sort(), `matches of ${JSON.stringify(q)} (the judged documents holding every term)`);
    assert.is(answer.texts.length, answer.ids.length, `search ${JSON.stringify(q)}: one text per match`);
    assert.is(answer.lengths.length, answer.ids.length, `search ${JSON.stringify(q)}: one token count per match`);
    for (const [i, id] of answer.ids.entries()) {
      const want = measure(search, all.get(id)!);
      const got = measureText(search, { id }, answer.texts[i]!, answer.lengths[i]!);
      assert.equal({ length: got.length, counts: got.counts }, { length: want.length, counts: want.counts }, `search ${JSON.stringify(q)}: the text and token count of match ${JSON.stringify(id)} measure as the document does`);
    }
    unjudged = answer.unjudged.length;
  }
  return { unjudged, documents: all.size };
}

/**
 * The generated scenario: 400 documents, 300 searches, then with a limit and with other fields
 * (the scan), each compared by `same` (which may look at the statistics too); only the searches of
 * other fields may list the type.
 */
export async function generatedSearches(
  pair: SearchPair & { readonly listed: readonly string[] },
  same: (texts: readonly string[], options?: PairSearchOptions) => Promise<number>,
): Promise<void> {
  await saveBoth(pair, docs(seededRandom(2), 400));
  const found = await same(queries(3, 300));
  assert.ok(found > 100, `only ${found} of 300 generated searches found anything: the comparison proves little`);
  await same(queries(4, 50), { limit: 3 });
  await same(queries(5, 30), { fields: ['body', 'tags'] });
  assert.equal(await same(['milk'], { fields: ['tags', 'body', 'title'] }), 1);
  assert.is(pair.listed.length, 30, 'only the 30 searches of other fields than the index\'s may scan (list the type)');
}
