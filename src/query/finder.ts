/**
 * How a store answers `find`, `count` and `findEach`: through the backend's own `find` where it
 * has one (the records it could not judge are checked here), else by scanning the type's records
 * with `list` and `loadMany`, and always with the reference evaluator as the last word.
 * @module
 */
import { isHeld, type FindAnswer, type HeldRecord, type StorageBackend, type StoredRecord } from '../backends/backend.js';
import type { Serializable, TypeInfo } from '../model.js';
import { compareCandidates, matches, type Candidate } from './evaluate.js';
import { InvalidQueryError } from '../errors.js';
import { describe } from '../options.js';
import { toSegments, type Query, type QueryNode, type RefOf } from './query.js';
import { best, measure, measureText, rank, statsOf, type Search } from './search.js';
import { classVersion } from '../type-versions.js';

/** Ids per loadMany of a scan, and results per page of `findEach`. */
const CHUNK = 500;

/**
 * A record a query found, with the store's write mark from before it was read. It is decoded when
 * its data is first read (to judge, sort or rank it, or to build its object), so a result the
 * cache holds at this version, in an order the backend already gave, is never decoded. A record
 * the backend left its content out of, since the cache held it ({@link HeldRecord}), comes with
 * that cached object, and is never judged or sorted here (such an answer has no unchecked records).
 */
class Found implements Candidate {
  readonly id: string;
  readonly record: StoredRecord | HeldRecord;
  readonly mark: number;
  /** The cached object of a held record. */
  readonly object: Serializable | undefined;
  readonly #decode: () => unknown;
  #data: unknown;
  #decoded = false;

  constructor(record: StoredRecord | HeldRecord, mark: number, decode: () => unknown, object?: Serializable) {
    this.id = record.id;
    this.record = record;
    this.mark = mark;
    this.#decode = decode;
    this.object = object;
  }

  get data(): unknown {
    if (!this.#decoded) {
      this.#data = this.#decode();
      this.#decoded = true;
    }
    return this.#data;
  }
}

/**
 * Where a {@link Finder} reads: a backend, or a transaction's view of one. With `find`, queries go
 * to it; without, the type is scanned (`list`, then `loadMany`); `search` likewise. Without
 * `createIndex`, `index` does nothing.
 */
export type QuerySource = Pick<StorageBackend, 'list' | 'loadMany'> & Partial<Pick<StorageBackend, 'find' | 'createIndex' | 'search' | 'createSearchIndex'>>;

/** What a {@link Finder} needs from its store. */
export interface FinderContext {
  readonly backend: QuerySource;
  readonly refOf: RefOf;
  /** The decoded document of a record of `info` (references left as placeholders). */
  decode(info: TypeInfo, record: StoredRecord): unknown;
  /** A mark of the store's writes so far, taken before a read: a record read after a later write is not cached. */
  mark(): number;
  /**
   * The instance for a matching record: the cached one when it is unchanged, else a new one from
   * `data()`, its decoded document (cached unless a write came after `mark`).
   */
  adopt(info: TypeInfo, record: StoredRecord, data: () => unknown, mark: number): Serializable | Promise<Serializable | undefined>;
  /**
   * The cached object of `info`'s type and `id` if it is at `version` (its record's content is then
   * not needed: see `BackendFindOptions.held`). Unset: the backend sends every record whole.
   */
  held?(info: TypeInfo, id: string, version: number): Serializable | undefined;
  /** Whether {@link held} may hold any object of `info`'s type now (if not, the backend is not asked to leave content out). */
  holds?(info: TypeInfo): boolean;
}

/** Runs queries for one store. */
export class Finder {
  readonly #context: FinderContext;
  /** The types whose `static indexes` were made (or found made) on this backend. */
  readonly #indexed = new Set<string>();
  /** The types whose `static searchable` index was made (or found made) on this backend. */
  readonly #searchable = new Set<string>();

  constructor(context: FinderContext) {
    this.#context = context;
  }

  /** Makes an index on `path` for `info`'s type where the backend keeps indexes (others scan). */
  async index(info: TypeInfo, segments: readonly string[]): Promise<void> {
    await this.#context.backend.createIndex?.(info.name, segments);
  }

  /** Makes the indexes a class declares (`static indexes`), once per type, before its first query. */
  async prepare(info: TypeInfo): Promise<void> {
    if (this.#indexed.has(info.name)) return;
    const paths = declaredIndexes(info);
    for (const segments of paths) await this.index(info, segments);
    this.#indexed.add(info.name);
  }

  /** The objects matching `query`, in its order. */
  async find(info: TypeInfo, query: Query): Promise<Serializable[]> {
    await this.prepare(info);
    return this.#adoptAll(info, await this.#answer(info, query));
  }

  /** How many objects match `where`. */
  async count(info: TypeInfo, where: QueryNode): Promise<number> {
    await this.prepare(info);
    const { backend } = this.#context;
    const query: Query = { where, sort: [], limit: undefined, skip: 0 };
    if (backend.find === undefined) {
      let counted = 0;
      for await (const chunk of this.#scan(info, where)) counted += chunk.length;
      return counted;
    }
    const answer = await backend.find(info.name, query, { count: true, typeVersion: classVersion(info.Class) });
    return answer.count + this.#check(info, where, answer.unchecked, 0).length;
  }

  /**
   * The objects matching `query`, a page at a time, so a result of any size streams in bounded
   * memory. Without `sort` on a backend that scans, one pass in id order; otherwise pages of the
   * query by skip and limit, so objects saved or deleted meanwhile may shift a page.
   */
  async *findEach(info: TypeInfo, query: Query): AsyncIterableIterator<Serializable> {
    await this.prepare(info);
    const end = query.limit === undefined ? Infinity : query.skip + query.limit;
    if (this.#context.backend.find === undefined && query.sort.length === 0) {
      let seen = 0;
      for await (const chunk of this.#scan(info, query.where)) {
        const from = Math.max(0, query.skip - seen);
        const to = Math.min(chunk.length, end - seen);
        seen += chunk.length;
        if (from < to) yield* await this.#adoptAll(info, chunk.slice(from, to));
        if (seen >= end) return;
      }
      return;
    }
    for (let skip = query.skip; skip < end; skip += CHUNK) {
      const limit = Math.min(CHUNK, end - skip);
      const page = await this.#answer(info, { ...query, skip, limit });
      yield* await this.#adoptAll(info, page);
      if (page.length < limit) return;
    }
  }

  /**
   * The objects holding every term of `search`, best first: from the backend's full-text index
   * when it has one on exactly the fields searched (made from `static searchable` before the
   * type's first search), else by scanning the type. Both rank the same way (search.ts).
   */
  async search(info: TypeInfo, search: Search): Promise<Serializable[]> {
    const { backend } = this.#context;
    if (backend.search !== undefined) {
      await this.#prepareSearch(info);
      const mark = this.#context.mark();
      const answer = await backend.search(info.name, search.fields, search.terms, classVersion(info.Class));
      if (answer !== undefined) {
        const unjudged = answer.unjudged.map((record) => measure(search, this.#candidate(info, record, mark)));
        const others = statsOf(search, unjudged);
        const stats = {
          documents: answer.documents + others.documents,
          length: answer.length + others.length,
          having: answer.having.map((having, t) => having + others.having[t]!),
        };
        // The index's matches are ranked from its tokens; only those returned are loaded (one
        // deleted meanwhile is left out, as a scan leaves out one deleted after its listing).
        const matched = answer.ids.map((id, i) => measureText(search, { id }, answer.texts[i]!, answer.lengths[i]!));
        const ranked = best<{ id: string } | Found>(search, [...matched, ...unjudged], stats);
        const toLoad = ranked.filter((doc) => !(doc instanceof Found)).map((doc) => doc.id);
        const loaded = new Map<string, Found>();
        for (let start = 0; start < toLoad.length; start += CHUNK) {
          const loadMark = this.#context.mark();
          const records = await backend.loadMany(info.name, toLoad.slice(start, start + CHUNK));
          for (const record of records) if (record !== undefined) loaded.set(record.id, this.#candidate(info, record, loadMark));
        }
        const found = ranked.flatMap((doc) => (doc instanceof Found ? [doc] : loaded.has(doc.id) ? [loaded.get(doc.id)!] : []));
        return this.#adoptAll(info, found);
      }
    }
    const all: Found[] = [];
    for await (const chunk of this.#scan(info, { kind: 'and', nodes: [] })) all.push(...chunk);
    return this.#adoptAll(info, rank(search, all));
  }

  /** Makes the full-text index a class declares (`static searchable`), once per type. */
  async #prepareSearch(info: TypeInfo): Promise<void> {
    if (this.#searchable.has(info.name)) return;
    const declared = (info.Class as { searchable?: unknown }).searchable;
    if (Array.isArray(declared) && declared.length > 0) {
      const fields = declared.map((path) => toSegments(path, `${info.name}.searchable entry`));
      await this.#context.backend.createSearchIndex?.(info.name, fields, classVersion(info.Class));
    }
    this.#searchable.add(info.name);
  }

  /** The matching candidates of `query`, sorted, skipped and limited. */
  async #answer(info: TypeInfo, query: Query): Promise<Found[]> {
    const { backend, refOf } = this.#context;
    let found: Found[];
    let skip = query.skip;
    if (backend.find === undefined) {
      found = [];
      for await (const chunk of this.#scan(info, query.where)) found.push(...chunk);
    } else {
      const typeVersion = classVersion(info.Class);
      const { held, holds } = this.#context;
      const asksHeld = held !== undefined && info.kind !== 'container' && holds?.(info) !== false;
      let mark = this.#context.mark();
      let answer = await backend.find(info.name, query, {
        typeVersion,
        held: asksHeld ? (id, version) => held(info, id, version) !== undefined : undefined,
      });
      let candidates = this.#candidates(info, answer, mark);
      if (candidates === undefined) {
        // A record held when the backend read it is no longer cached at that version: ask again, for every record whole.
        mark = this.#context.mark();
        answer = await backend.find(info.name, query, { typeVersion });
        candidates = this.#candidates(info, answer, mark);
        if (candidates === undefined) throw new Error(`find of ${info.name}: the backend answered with held records (HeldRecord), though none were asked for`);
      }
      found = candidates;
      skip -= answer.skipped ?? 0;
      // The backend's records come in the query's order: only records it left to the evaluator need merging in.
      if (answer.unchecked.length === 0) return found.slice(skip, query.limit === undefined ? undefined : skip + query.limit);
      found.push(...this.#check(info, query.where, answer.unchecked, mark));
    }
    found.sort((a, b) => compareCandidates(query.sort, a, b, refOf));
    return found.slice(skip, query.limit === undefined ? undefined : skip + query.limit);
  }

  /** The type's matching records, a chunk at a time, in id order. */
  async *#scan(info: TypeInfo, where: QueryNode): AsyncIterableIterator<Found[]> {
    const { backend } = this.#context;
    const ids = await backend.list(info.name);
    for (let start = 0; start < ids.length; start += CHUNK) {
      const mark = this.#context.mark();
      const records = await backend.loadMany(info.name, ids.slice(start, start + CHUNK));
      // A record deleted since the listing is simply not there any more.
      yield this.#check(info, where, records.filter((record): record is StoredRecord => record !== undefined), mark);
    }
  }

  /**
   * The candidates of the backend's `records`, each held one with its cached object; undefined
   * when one is no longer cached at its version, or held records came with unchecked ones (whose
   * merging would need their content).
   */
  #candidates(info: TypeInfo, answer: FindAnswer, mark: number): Found[] | undefined {
    const found: Found[] = [];
    const noContent = () => {
      throw new Error(`find of ${info.name}: a held record's content was read, which the backend did not send`);
    };
    for (const record of answer.records) {
      if (!isHeld(record)) {
        found.push(this.#candidate(info, record, mark));
        continue;
      }
      const object = answer.unchecked.length === 0 ? this.#context.held?.(info, record.id, record.version) : undefined;
      if (object === undefined) return undefined;
      found.push(new Found(record, mark, noContent, object));
    }
    return found;
  }

  #candidate(info: TypeInfo, record: StoredRecord, mark: number): Found {
    return new Found(record, mark, () => this.#context.decode(info, record));
  }

  /** The records of `records` that match `where`, decoded. */
  #check(info: TypeInfo, where: QueryNode, records: readonly StoredRecord[], mark: number): Found[] {
    const found: Found[] = [];
    for (const record of records) {
      const candidate = this.#candidate(info, record, mark);
      if (matches(where, candidate, this.#context.refOf)) found.push(candidate);
    }
    return found;
  }

  async #adoptAll(info: TypeInfo, found: readonly Found[]): Promise<Serializable[]> {
    const objects: Serializable[] = [];
    for (const candidate of found) {
      const { record } = candidate;
      const adopted = isHeld(record) ? candidate.object! : this.#context.adopt(info, record, () => candidate.data, candidate.mark);
      const obj = adopted instanceof Promise ? await adopted : adopted;
      // A container deleted between the query and the load of its graph is left out.
      if (obj !== undefined) objects.push(obj);
    }
    return objects;
  }
}

/** The field paths of a class's `static indexes`, checked. */
export function declaredIndexes(info: TypeInfo): string[][] {
  const declared = (info.Class as { indexes?: unknown }).indexes;
  if (declared === undefined) return [];
  if (!Array.isArray(declared)) throw new InvalidQueryError(`${info.name}.indexes must be an array of field paths, got ${describe(declared)}`);
  return declared.map((path) => toSegments(path, `${info.name}.indexes entry`));
}
