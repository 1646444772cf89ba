/**
 * The memory backend's parsed form of a stored record, for its indexes and queries: the content's
 * `json` part, where superjson's `meta` annotates it, and the type version it was written at.
 * Parsed once per stored record (a record is replaced, never changed, by a write) and kept beside
 * it; it is read by the backend only, never handed out, so nothing a caller holds shares it.
 *
 * Where a record is not annotated at a path (nor above or below it) and was written at the class's
 * type version, the JSON there is exactly what the store decodes (superjson changes only the
 * annotated paths; an upgrade only records of other versions), so the reference evaluator may judge
 * it on the JSON. Everywhere else the store decodes and judges the record itself.
 * @module
 */
import { metaAnnotations } from '../codec.js';
import { storedVersion } from '../type-versions.js';
import type { StoredRecord } from './backend.js';

/** A stored record's content as the memory backend's queries read it. */
export interface ParsedRecord {
  /** The document as JSON (what `json` holds); unset when the content is not a readable cuttle document. */
  readonly json?: unknown;
  /**
   * The paths superjson annotates, as it writes them (`.` and `\` in keys escaped with `\`);
   * undefined when the record cannot be judged on its JSON anywhere (a `meta` with shared
   * references, an annotation of the root, content that is not a document).
   */
  readonly annotated: readonly string[] | undefined;
  /** The type version the record was written at (NaN when its content says something unreadable). */
  readonly version: number;
}

const NONE: readonly string[] = Object.freeze([]);
const parsedRecords = new WeakMap<StoredRecord, ParsedRecord>();

/** The parsed form of `record`, parsed on first use and kept as long as the record is. */
export function parsedRecord(record: StoredRecord): ParsedRecord {
  let parsed = parsedRecords.get(record);
  if (parsed === undefined) {
    parsed = parse(record.content);
    parsedRecords.set(record, parsed);
  }
  return parsed;
}

function parse(content: string): ParsedRecord {
  const version = storedVersion(content);
  let envelope: unknown;
  try {
    envelope = JSON.parse(content);
  } catch {
    return { annotated: undefined, version };
  }
  if (envelope === null || typeof envelope !== 'object' || !('json' in envelope)) return { annotated: undefined, version };
  const { json, meta } = envelope as { json: unknown; meta?: unknown };
  if (!('meta' in envelope)) return { json, annotated: NONE, version };
  const values = metaAnnotations(meta);
  return { json, annotated: values && Object.keys(values), version };
}

/** A path as superjson writes it in `meta.values`: keys escaped (`\` and `.` get a `\`), joined by dots. */
export function annotationPath(segments: readonly string[]): string {
  return segments.map((key) => key.replace(/\\/g, '\\\\').replace(/\./g, '\\.')).join('.');
}

/**
 * Whether the JSON of `parsed` is the decoded value at each of `paths` (made by
 * {@link annotationPath}) and everything under them: no annotation at a path, above or below it.
 * The type version is not checked here.
 */
export function plainAt(parsed: ParsedRecord, paths: readonly string[]): boolean {
  const { annotated } = parsed;
  if (annotated === undefined) return false;
  for (const key of annotated) {
    for (const path of paths) {
      if (key === path || key.startsWith(`${path}.`) || path.startsWith(`${key}.`)) return false;
    }
  }
  return true;
}
