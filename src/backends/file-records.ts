/**
 * The on-disk form of one record in the file backend: a JSON object a person can read, with the
 * record's fields one per line and the document inlined as the exact JSON text it was saved as:
 *
 *     {
 *       "type": "Note",
 *       "id": "a",
 *       "kind": "object",
 *       "version": 3,
 *       "updatedAt": 1700000000000,
 *       "content": {"json":{"title":"hi"}}
 *     }
 *
 * Reading slices the content text back out, so it round-trips byte for byte (re-serializing the
 * parsed value would reorder integer-like keys and rewrite numbers). A file someone reformatted by
 * hand still loads, with its content re-serialized. Content that is not valid JSON text, which a
 * save never produces, is kept as a string in `"contentText"`.
 * @module
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CorruptDataError } from '../errors.js';
import type { StoredRecord } from './backend.js';

/** A record without its content: what a write needs to know about the stored version. */
export type RecordHeader = Omit<StoredRecord, 'content'>;

const MARK = ',\n  "content": ';
const END = '\n}\n';
/** More than the longest header (a 128-character type, a 256-character id, escaped). */
const HEADER_BYTES = 4096;

/** The file text of `record`. */
export function formatRecord(record: StoredRecord): string {
  const { type, id, kind, version, updatedAt, content } = record;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new TypeError(`FileBackend: ${type} ${JSON.stringify(id)}: version must be a positive integer, got ${String(version)}`);
  }
  if (!Number.isFinite(updatedAt)) {
    throw new TypeError(`FileBackend: ${type} ${JSON.stringify(id)}: updatedAt must be a finite number, got ${String(updatedAt)}`);
  }
  const head = `{\n  "type": ${JSON.stringify(type)},\n  "id": ${JSON.stringify(id)},\n  "kind": ${JSON.stringify(kind)},\n  "version": ${version},\n  "updatedAt": ${updatedAt}`;
  if (content.isWellFormed() && parses(content)) return `${head}${MARK}${content}${END}`;
  return `${head},\n  "contentText": ${JSON.stringify(content)}${END}`;
}

/**
 * The record in file text `text`, which must be `type`/`id` (`id` undefined: any id).
 * @throws CorruptDataError naming `file` when the text is not such a record.
 */
export function parseRecord(text: string, file: string, type: string, id?: string): StoredRecord {
  const at = text.indexOf(MARK);
  if (at >= 0 && text.endsWith(END)) {
    const header = tryParse(text.slice(0, at) + '}');
    const content = text.slice(at + MARK.length, -END.length);
    if (checkHeader(header, type, id) === undefined && parses(content)) return toRecord(header as RecordHeader, content);
  }
  // Not in the layout we write: a file edited by hand, content that is not JSON, or damage.
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw corrupt(file, `is not valid JSON (${(error as Error).message})`, type, id, error);
  }
  const problem = checkHeader(value, type, id);
  if (problem) throw corrupt(file, problem, type, id);
  let content: string;
  if (typeof value.contentText === 'string') content = value.contentText;
  else if (value.content !== undefined) content = JSON.stringify(value.content);
  else throw corrupt(file, 'has no "content"', type, id);
  return toRecord(value as unknown as RecordHeader, content);
}

/**
 * The header of the record in `file`, reading only its first few KB in the usual case; `undefined`
 * when there is no such file.
 * @throws CorruptDataError naming `file` when it is not a record of `type`/`id`.
 */
export async function readHeader(file: string, type: string, id?: string): Promise<RecordHeader | undefined> {
  // Synchronous: one open, one read of 4 KB from the page cache and one close take microseconds,
  // where each asynchronous call would cost a thread-pool round trip.
  const fd = openIfExists(file);
  if (fd === undefined) return undefined;
  let start: Buffer;
  try {
    const buffer = Buffer.allocUnsafe(HEADER_BYTES);
    start = buffer.subarray(0, readSync(fd, buffer, 0, HEADER_BYTES, 0));
  } finally {
    closeSync(fd);
  }
  const at = start.indexOf(MARK);
  if (at >= 0) {
    const header = tryParse(start.toString('utf8', 0, at) + '}');
    if (checkHeader(header, type, id) === undefined) {
      const { type: t, id: i, kind, version, updatedAt } = header as RecordHeader;
      return { type: t, id: i, kind, version, updatedAt };
    }
  }
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined; // deleted in between
    throw error;
  });
  if (text === undefined) return undefined;
  const { content: _, ...header } = parseRecord(text, file, type, id);
  return header;
}

/** Files up to this size are read with synchronous calls (see {@link readRecordText}). */
const SYNC_READ_LIMIT = 64 * 1024;

/**
 * The text of `file`, or `undefined` when there is none. A file of up to 64 KB (a typical record)
 * is read with synchronous calls, a few microseconds from the page cache, where the four
 * asynchronous calls of `readFile` would cost four thread-pool round trips; a larger one
 * asynchronously, so it does not stall the event loop.
 */
export async function readRecordText(file: string): Promise<string | undefined> {
  const fd = openIfExists(file);
  if (fd === undefined) return undefined;
  try {
    if (fstatSync(fd).size <= SYNC_READ_LIMIT) return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined; // deleted in between
    throw error;
  });
}

function toRecord({ type, id, kind, version, updatedAt }: RecordHeader, content: string): StoredRecord {
  return { type, id, kind, content, version, updatedAt };
}

/** Why `value` is not the header of a record of `type`/`id`, or `undefined` when it is. */
function checkHeader(value: unknown, type: string, id: string | undefined): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'does not hold a cuttle record (not a JSON object)';
  const header = value as Record<string, unknown>;
  if (typeof header.type !== 'string' || typeof header.id !== 'string') return 'does not hold a cuttle record (no "type" or "id")';
  if (header.type !== type || (id !== undefined && header.id !== id)) {
    const wanted = id === undefined ? type : `${type} ${JSON.stringify(id)}`;
    return `holds ${header.type} ${JSON.stringify(header.id)}, not ${wanted} (copied or renamed by hand?)`;
  }
  if (header.kind !== 'object' && header.kind !== 'container') return `has an invalid "kind": ${JSON.stringify(header.kind)}`;
  if (!Number.isSafeInteger(header.version) || (header.version as number) < 1) return `has an invalid "version": ${JSON.stringify(header.version)}`;
  if (typeof header.updatedAt !== 'number' || !Number.isFinite(header.updatedAt)) return `has an invalid "updatedAt": ${JSON.stringify(header.updatedAt)}`;
  return undefined;
}

function corrupt(file: string, problem: string, type: string, id: string | undefined, cause?: unknown): CorruptDataError {
  return new CorruptDataError(`FileBackend: ${file} ${problem}`, id === undefined ? { type, file } : { type, id, file }, { cause });
}

function parses(text: string): boolean {
  return tryParse(text) !== FAILED;
}

const FAILED = Symbol('not JSON');

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return FAILED;
  }
}

/** A file descriptor open for reading `file`, or `undefined` when there is no such file. */
function openIfExists(file: string): number | undefined {
  try {
    return openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
