/**
 * Full-text search by scanning: one tokenizer, a small query syntax and BM25 ranking, the same on
 * every backend (docs/query.md, "Full-text search").
 *
 * Tokens: the text in Unicode compatibility form (NFKD) without combining marks (so `Café` is
 * `cafe`), lower-cased, split into runs of letters and digits. A search text is a list of terms,
 * all of which must occur in the object's fields: a word, a prefix (`buy*`), or a phrase in double
 * quotes (its words one after the other within one field).
 * @module
 */
import { InvalidQueryError } from '../errors.js';
import { compareIds } from '../ids.js';
import { describe } from '../options.js';
import { valueAt, type Candidate } from './evaluate.js';
import { toSegments } from './query.js';

/** Options of `search`. */
export interface SearchOptions {
  /** The field paths searched. @default the class's `static searchable` */
  fields?: string[];
  /** At most this many results, best first. @default no limit */
  limit?: number;
}

/**
 * One term of a search text, as the store hands it to a backend's `search`: a `word` (its one
 * token, which a document must hold), a `prefix` (`buy*`: a token starting with `token`) or a
 * `phrase` (`"milk chocolate"`, and `e-mail`: its tokens one after the other within one field or
 * one string of an array). Tokens are {@link tokenize}'s: folded, lower-cased runs of letters and
 * digits.
 */
export type SearchTerm = { readonly kind: 'word' | 'prefix'; readonly token: string } | { readonly kind: 'phrase'; readonly tokens: readonly string[] };

/** A checked search. */
export interface Search {
  readonly terms: readonly SearchTerm[];
  readonly fields: readonly (readonly string[])[];
  readonly limit: number | undefined;
}

/** The tokens of a text. */
export function tokenize(text: string): string[] {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Checks a search: the text's terms, the fields (given, else `declared`), the limit.
 * @throws InvalidQueryError for a text with no word, no fields, or a bad option.
 */
export function toSearch(text: unknown, options: SearchOptions | undefined, declared: unknown, typeName: string): Search {
  if (typeof text !== 'string') throw new InvalidQueryError(`search: the text must be a string, got ${describe(text)}`);
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new InvalidQueryError(`search: options must be an object { fields, limit }, got ${describe(options)}`);
  for (const key of Object.keys(options ?? {})) if (key !== 'fields' && key !== 'limit') throw new InvalidQueryError(`search: unknown option "${key}"; known options: fields, limit`);
  const fields = options?.fields ?? declared;
  if (fields === undefined) throw new InvalidQueryError(`search: ${typeName} has no static searchable = [...] and no fields were given`);
  if (!Array.isArray(fields) || fields.length === 0) throw new InvalidQueryError(`search: fields must be a non-empty array of field paths, got ${describe(fields)}`);
  const limit = options?.limit;
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0)) throw new InvalidQueryError(`search: limit must be an integer >= 0, got ${describe(limit)}`);
  const terms: SearchTerm[] = [];
  for (const match of text.matchAll(/"([^"]*)"?|(\S+)/g)) {
    if (match[1] !== undefined) {
      const tokens = tokenize(match[1]);
      if (tokens.length === 1) terms.push({ kind: 'word', token: tokens[0]! });
      else if (tokens.length > 1) terms.push({ kind: 'phrase', tokens });
      continue;
    }
    const word = match[2]!;
    const tokens = tokenize(word);
    if (tokens.length === 0) continue;
    // `buy*`: the last token is a prefix; `e-mail` is the phrase "e mail".
    if (word.endsWith('*') && tokens.length === 1) terms.push({ kind: 'prefix', token: tokens[0]! });
    else if (tokens.length === 1) terms.push({ kind: 'word', token: tokens[0]! });
    else terms.push({ kind: 'phrase', tokens });
  }
  if (terms.length === 0) throw new InvalidQueryError(`search: ${JSON.stringify(text)} has no word to search for`);
  return { terms, fields: fields.map((field: unknown) => toSegments(field, 'search field')), limit };
}

/**
 * The tokens of each searched field of a document (strings, and the strings of arrays, each item's
 * followed by a `\u0000` so no phrase runs from one item into the next).
 */
export function fieldTokens(candidate: Candidate, fields: readonly (readonly string[])[]): string[][] {
  return fields.map((segments) => {
    const value = valueAt(candidate, segments);
    if (typeof value === 'string') return tokenize(value);
    if (Array.isArray(value)) return value.flatMap((item) => (typeof item === 'string' ? [...tokenize(item), '\u0000'] : []));
    return [];
  });
}

/** How often a term occurs in a document's fields (0: it does not). */
function occurrences(term: SearchTerm, fields: readonly (readonly string[])[]): number {
  let count = 0;
  for (const tokens of fields) {
    for (let i = 0; i < tokens.length; i++) {
      if (term.kind === 'phrase') count += term.tokens.every((token, j) => tokens[i + j] === token) ? 1 : 0;
      else if (term.kind === 'word') count += tokens[i] === term.token ? 1 : 0;
      else count += tokens[i]!.startsWith(term.token) ? 1 : 0;
    }
  }
  return count;
}

/** A candidate measured for a search: its token count and how often each term occurs in it. */
export interface Measured<C extends { readonly id: string }> {
  readonly candidate: C;
  readonly length: number;
  readonly counts: readonly number[];
}

/** The statistics BM25 reads over all the type's documents: how many, their total token count, and per term how many hold it. */
export interface SearchStats {
  readonly documents: number;
  readonly length: number;
  readonly having: readonly number[];
}

/** Measures a candidate for `search`. */
export function measure<C extends Candidate>(search: Search, candidate: C): Measured<C> {
  return measureTokens(search, candidate, fieldTokens(candidate, search.fields));
}

/**
 * Measures a candidate from its tokens joined by single spaces (`text`), fields and array items
 * apart by a token that is not a run of letters and digits (so no term matches it and no phrase
 * runs over it), and its token count without those (`length`): what a backend's index keeps
 * (sqlite-search.ts). The counts are {@link measure}'s, found by string search, without building
 * the token lists.
 */
export function measureText<C extends { readonly id: string }>(search: Search, candidate: C, text: string, length: number): Measured<C> {
  const padded = ` ${text} `;
  const counts = search.terms.map((term) => {
    // Every occurrence starts at a space, so the next search may start one character on (phrases overlap, as `occurrences` counts them).
    const needle = term.kind === 'phrase' ? ` ${term.tokens.join(' ')} ` : term.kind === 'word' ? ` ${term.token} ` : ` ${term.token}`;
    let count = 0;
    for (let at = padded.indexOf(needle); at >= 0; at = padded.indexOf(needle, at + 1)) count++;
    return count;
  });
  return { candidate, length, counts };
}

/**
 * Measures a candidate from its tokens, as {@link fieldTokens} gives them (a backend's index may
 * keep them: fields in one list with a `\u0000` between them counts the same).
 */
export function measureTokens<C extends { readonly id: string }>(search: Search, candidate: C, fields: readonly (readonly string[])[]): Measured<C> {
  const length = fields.reduce((sum, tokens) => sum + tokens.filter((token) => token !== '\u0000').length, 0);
  return { candidate, length, counts: search.terms.map((term) => occurrences(term, fields)) };
}

/** The statistics of `docs` alone. */
export function statsOf(search: Search, docs: readonly Measured<{ readonly id: string }>[]): SearchStats {
  return {
    documents: docs.length,
    length: docs.reduce((sum, doc) => sum + doc.length, 0),
    having: search.terms.map((_, t) => docs.filter((doc) => doc.counts[t]! > 0).length),
  };
}

/**
 * The candidates holding every term, best first: BM25 (k1 1.2, b 0.75) over the type's documents,
 * ties by id. `all` is every document of the type (for the statistics), matching or not.
 */
export function rank<C extends Candidate>(search: Search, all: readonly C[]): C[] {
  const docs = all.map((candidate) => measure(search, candidate));
  return best(search, docs, statsOf(search, docs));
}

/**
 * Ranks `docs` (any that may match; those missing a term are dropped) by BM25 with the statistics
 * `stats` of all the type's documents: what {@link rank} does, for a backend's index that finds the
 * candidates and counts the rest (sqlite-search.ts), with the very same arithmetic.
 */
export function best<C extends { readonly id: string }>(search: Search, docs: readonly Measured<C>[], stats: SearchStats): C[] {
  const average = stats.length / Math.max(1, stats.documents);
  const idf = stats.having.map((having) => Math.log(1 + (stats.documents - having + 0.5) / (having + 0.5)));
  const scored = docs
    .filter((doc) => doc.counts.every((count) => count > 0))
    .map((doc) => ({
      candidate: doc.candidate,
      score: doc.counts.reduce((sum, tf, t) => sum + (idf[t]! * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * doc.length) / (average || 1))), 0),
    }));
  scored.sort((a, b) => b.score - a.score || compareIds(a.candidate.id, b.candidate.id));
  const ranked = scored.map((entry) => entry.candidate);
  return search.limit === undefined ? ranked : ranked.slice(0, search.limit);
}
