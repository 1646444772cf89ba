/**
 * What a backend's full-text index stores for a document, shared by SQLite (sqlite-search.ts) and
 * PostgreSQL (postgres-search.ts): the JavaScript tokenizer's tokens (src/query/search.ts), so the
 * index never tokenizes text its own way and the store ranks exactly as its scan does.
 *
 * The text of a document is its searched fields' tokens joined by single spaces, fields and array
 * items apart by a `§` token, which is not a run of letters and digits and so never a term: no
 * term matches it and no phrase runs over it (what `measureText` in search.ts counts on).
 * @module
 */
import { searchableDocument } from '../codec.js';
import { fieldTokens } from '../query/search.js';

/** Between fields and array items: not a letter or digit, so never a token nor a term. */
export const APART = '§';

/**
 * The search text of a document of `fields`, or null when it is unjudged: its strings cannot be
 * told without its class (written at another type version than `typeVersion`, or a superjson
 * `meta` the index does not know: see `searchableDocument` in codec.ts).
 */
export function searchText(id: string, content: string, fields: readonly (readonly string[])[], typeVersion: number): string | null {
  const data = searchableDocument(content, typeVersion);
  if (data === undefined) return null;
  const tokens = fieldTokens({ id, data }, fields);
  return tokens.map((field) => field.map((token) => (token === '\u0000' ? APART : token)).join(' ')).join(` ${APART} `);
}

/** The tokens of a search text, in order, separators and empty fields left out. */
export function textTokens(text: string): string[] {
  return text.split(' ').filter((token) => token !== '' && token !== APART);
}

/** The number of tokens of a search text (its separators aside), null for null. */
export function searchLength(text: string | null): number | null {
  return text === null ? null : textTokens(text).length;
}

/** The key an index's fields are compared by: their paths, sorted. */
export function fieldsKey(fields: readonly (readonly string[])[]): string {
  return JSON.stringify(fields.map((segments) => segments.join('.')).sort());
}
