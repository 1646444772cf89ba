/**
 * The dump format, without I/O: NDJSON, one header line, one line per record in (type, id) order,
 * one trailer line with the count and a SHA-256 of the record lines (docs/dump-format.md). Writing
 * and validating lines, and whole dumps held in memory (`exportData`/`importData`). Reading and
 * writing dump files and streams is Node's part, in dump-files.ts.
 * @module
 */
import type { RecordKind, StorageBackend, StoredRecord } from './backends/backend.js';
import { depthProblem } from './codec.js';
import { DumpFormatError, type CorruptDataError } from './errors.js';
import { checkId, checkTypeName, compareIds, isNamespaceName } from './ids.js';
import { DEFAULT_NAMESPACE, namespaceOf } from './namespace.js';
import { checkInteger, checkOneOf, checkOptions } from './options.js';

/** The `format` of a dump's header line. */
export const DUMP_FORMAT = 'cuttle-dump';
/** The `format` of a dump's trailer line. */
export const DUMP_END_FORMAT = 'cuttle-dump-end';
/** The dump format version this cuttle writes and reads. */
export const DUMP_VERSION = 1;
/** The longest line an import accepts unless told otherwise: 256 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 256 * 1024 * 1024;

/** A dump's first line. */
export interface DumpHeader {
  format: typeof DUMP_FORMAT;
  version: typeof DUMP_VERSION;
  /** When the dump was made (ms since the epoch); absent when exported with `timestamp: false`. */
  createdAt?: number;
  /** The backend the dump came from, e.g. `sqlite:/srv/app.db`. */
  source?: string;
  /**
   * The namespace the records were exported from; absent for the default namespace (and in dumps
   * older than namespaces). The records carry their plain types: a dump imports into whichever
   * namespace the importing store has.
   */
  namespace?: string;
}

/** A dump's last line. */
export interface DumpTrailer {
  format: typeof DUMP_END_FORMAT;
  /** How many record lines the dump has. */
  count: number;
  /** SHA-256 (hex) of the record lines, each with its final `\n`, in order. */
  sha256: string;
}

/** A whole dump in memory: what `exportData()` returns and `importData()` takes. */
export interface Dump {
  header: DumpHeader;
  records: StoredRecord[];
}

/** Progress of a long export or import. */
export interface DumpProgress {
  /** Records done so far. */
  done: number;
  /** Records in all, when known. */
  total?: number;
}

/** Options of `exportTo`. */
export interface ExportOptions {
  /**
   * Write `createdAt` in the header. With `false`, two dumps of one unchanged store are identical
   * files. @default true
   */
  timestamp?: boolean;
  /** Called every 1,000 records and at the end. */
  onProgress?: (progress: DumpProgress) => void;
  /**
   * Called with each unreadable record (a damaged file on the file backend), which is then left
   * out of the dump. Unset: the export fails on it.
   */
  onCorrupt?: (error: CorruptDataError) => void;
}

/** How an import treats what the store already holds. */
export type ImportMode = 'merge' | 'replace';

/** Options of `importFrom` / `importData`. */
export interface ImportOptions {
  /**
   * `'merge'`: add the dump's objects, replacing those with the same type and id, keeping the rest.
   * `'replace'`: the store holds exactly the dump afterwards. @default 'merge'
   */
  mode?: ImportMode;
  /** The longest line accepted, in bytes. @default 268435456 (256 MiB) */
  maxLineBytes?: number;
  /** Called every 1,000 records while records are stored, and at the end. */
  onProgress?: (progress: DumpProgress) => void;
}

/** What an export did. */
export interface ExportSummary {
  /** Records written. */
  count: number;
  /** The checksum written in the trailer. */
  sha256: string;
}

/** What an import did. */
export interface ImportSummary {
  /** Records stored. */
  count: number;
}

const RECORD_FIELDS = ['type', 'id', 'kind', 'version', 'updatedAt', 'content'] as const;
const KINDS: readonly RecordKind[] = ['object', 'container'];
const PROGRESS_EVERY = 1000;

/** The canonical line of a record: fixed field order, so equal stores give equal dumps. */
export function recordLine(record: StoredRecord): string {
  return JSON.stringify({
    type: record.type,
    id: record.id,
    kind: record.kind,
    version: record.version,
    updatedAt: record.updatedAt,
    content: record.content,
  });
}

/**
 * A running SHA-256 of the record lines, as the trailer holds it (hex). Node's is node:crypto's
 * (dump-files.ts); {@link webHash} works wherever Web Crypto does.
 */
export interface LineHash {
  update(data: string | Uint8Array): void;
  digest(): Promise<string>;
}

/** A {@link LineHash} on Web Crypto: it keeps what it is given and digests it at the end (for dumps in memory). */
export function webHash(): LineHash {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  let length = 0;
  return {
    update(data) {
      const bytes = typeof data === 'string' ? encoder.encode(data) : data;
      parts.push(bytes);
      length += bytes.length;
    },
    async digest() {
      const all = new Uint8Array(length);
      let at = 0;
      for (const part of parts) {
        all.set(part, at);
        at += part.length;
      }
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
      return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
    },
  };
}

/** Writes the dump of `backend`, a chunk of text at a time, through `write`; `hash` sums the record lines. */
export async function writeDump(backend: StorageBackend, write: (text: string) => Promise<void>, options: ExportOptions, hash: LineHash): Promise<ExportSummary> {
  const total = options.onProgress ? await countRecords(backend) : undefined;
  const header: DumpHeader = { format: DUMP_FORMAT, version: DUMP_VERSION };
  if (options.timestamp !== false) header.createdAt = Date.now();
  header.source = backend.name;
  const namespace = namespaceOf(backend);
  if (namespace !== DEFAULT_NAMESPACE) header.namespace = namespace;
  let chunk = JSON.stringify(header) + '\n';
  let count = 0;
  for await (const record of backend.records({ onCorrupt: options.onCorrupt })) {
    const line = recordLine(record) + '\n';
    hash.update(line);
    chunk += line;
    count++;
    if (chunk.length >= 64 * 1024) {
      await write(chunk);
      chunk = '';
    }
    if (count % PROGRESS_EVERY === 0) options.onProgress?.({ done: count, total });
  }
  const sha256 = await hash.digest();
  const trailer: DumpTrailer = { format: DUMP_END_FORMAT, count, sha256 };
  await write(chunk + JSON.stringify(trailer) + '\n');
  options.onProgress?.({ done: count, total });
  return { count, sha256 };
}

/** Every record in memory, for small stores. */
export async function exportData(backend: StorageBackend): Promise<Dump> {
  const records: StoredRecord[] = [];
  for await (const record of backend.records()) records.push(record);
  const namespace = namespaceOf(backend);
  const header: DumpHeader = { format: DUMP_FORMAT, version: DUMP_VERSION, createdAt: Date.now(), source: backend.name };
  if (namespace !== DEFAULT_NAMESPACE) header.namespace = namespace;
  return { header, records };
}


/** Imports a dump held in memory (as `exportData()` returns it, or as NDJSON text). */
export async function importData(backend: StorageBackend, dump: Dump | string, options: ImportOptions = {}): Promise<ImportSummary> {
  checkImportOptions(options);
  if (typeof dump === 'string') {
    // Read whole before anything is stored: it is in memory already, and a bad line changes nothing.
    const records: StoredRecord[] = [];
    for await (const record of parseDump(splitText(dump), webHash())) records.push(record);
    return storeDump(backend, iterate(records), options);
  }
  if (dump === null || typeof dump !== 'object' || !Array.isArray(dump.records)) {
    throw new DumpFormatError('importData expects { header, records } or NDJSON text', 1);
  }
  checkHeader(dump.header, 1);
  // Validate everything first: in memory that is cheap, and it keeps non-atomic backends intact.
  // Line numbers are those the records would have in a dump file (the header is line 1).
  let previous: StoredRecord | undefined;
  const records = dump.records.map((record, i) => (previous = checkRecord(record, i + 2, previous)));
  return storeDump(backend, iterate(records), options);
}

/**
 * The validated records of a dump given as its lines (text, or UTF-8 bytes), without their `\n`:
 * throws {@link DumpFormatError} naming the line at the first problem, including a missing or
 * mismatched trailer (a truncated dump). `hash` checks the trailer's checksum.
 */
export async function* parseDump(lines: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>, hash: LineHash): AsyncGenerator<StoredRecord> {
  let lineNumber = 0;
  let previous: StoredRecord | undefined;
  let trailer: DumpTrailer | undefined;
  let count = 0;
  for await (const line of lines) {
    lineNumber++;
    if (trailer) throw new DumpFormatError('text after the trailer line', lineNumber);
    const value = parseLine(line, lineNumber);
    if (lineNumber === 1) {
      checkHeader(value, lineNumber);
      continue;
    }
    if (isTrailer(value)) {
      trailer = checkTrailer(value, lineNumber);
      continue;
    }
    previous = checkRecord(value, lineNumber, previous);
    hash.update(line);
    hash.update('\n');
    count++;
    yield previous;
  }
  if (lineNumber === 0) throw new DumpFormatError('the dump is empty (no header line)', 1);
  if (!trailer) throw new DumpFormatError(`no trailer line after ${count} records: the dump is truncated`, lineNumber + 1);
  if (trailer.count !== count) {
    throw new DumpFormatError(`the trailer counts ${trailer.count} records but the dump has ${count}: the dump is damaged`, lineNumber);
  }
  const sha256 = await hash.digest();
  if (trailer.sha256 !== sha256) throw new DumpFormatError('the checksum of the record lines does not match the trailer: the dump is damaged', lineNumber);
}

/** Stores the records; progress counts them as the backend takes them, out of `total` when it is known. */
export async function storeDump(backend: StorageBackend, records: AsyncIterable<StoredRecord>, options: ImportOptions, total?: number): Promise<ImportSummary> {
  const { onProgress } = options;
  let done = 0;
  const counted = async function* () {
    for await (const record of records) {
      yield record;
      if (++done % PROGRESS_EVERY === 0) onProgress?.(total === undefined ? { done } : { done, total });
    }
  };
  const count = await backend.importRecords(onProgress ? counted() : records, { replace: options.mode === 'replace' });
  onProgress?.({ done: count, total: count });
  return { count };
}

/** The lines of an NDJSON text, without their `\n` (nor a final `\r`); nothing after a final `\n`. */
function* splitText(text: string): Generator<string> {
  let start = 0;
  for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
    yield trimReturn(text.slice(start, end));
    start = end + 1;
  }
  if (start < text.length) yield trimReturn(text.slice(start));
}

function trimReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseLine(input: string | Uint8Array, line: number): unknown {
  let text: string;
  try {
    text = typeof input === 'string' ? input : utf8.decode(input);
  } catch (error) {
    throw new DumpFormatError('not valid UTF-8', line, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DumpFormatError(`not valid JSON (${(error as Error).message})`, line, { cause: error });
  }
}

function checkHeader(value: unknown, line: number): DumpHeader {
  if (!isObject(value) || value.format !== DUMP_FORMAT) {
    throw new DumpFormatError(`not a cuttle dump: the first line must be a header {"format":"${DUMP_FORMAT}","version":${DUMP_VERSION},...}`, line);
  }
  if (value.version !== DUMP_VERSION) {
    throw new DumpFormatError(`unsupported dump version ${JSON.stringify(value.version)}; this cuttle reads version ${DUMP_VERSION}`, line);
  }
  if (value.namespace !== undefined && !isNamespaceName(value.namespace)) {
    throw new DumpFormatError(`the header's namespace must be a namespace name, got ${JSON.stringify(value.namespace)}`, line);
  }
  return value as unknown as DumpHeader;
}

function isTrailer(value: unknown): boolean {
  return isObject(value) && value.format === DUMP_END_FORMAT;
}

function checkTrailer(value: unknown, line: number): DumpTrailer {
  const trailer = value as Record<string, unknown>;
  if (!Number.isSafeInteger(trailer.count) || (trailer.count as number) < 0 || typeof trailer.sha256 !== 'string') {
    throw new DumpFormatError('malformed trailer: it needs a count and a sha256', line);
  }
  return trailer as unknown as DumpTrailer;
}

/** A record line's value checked field by field, and in order after `previous`. */
function checkRecord(value: unknown, line: number, previous: StoredRecord | undefined): StoredRecord {
  if (!isObject(value)) throw new DumpFormatError('a record line must be a JSON object', line);
  for (const key of Object.keys(value)) {
    if (!(RECORD_FIELDS as readonly string[]).includes(key)) throw new DumpFormatError(`unknown field ${JSON.stringify(key)}`, line);
  }
  const { type, id, kind, version, updatedAt, content } = value as Record<string, unknown>;
  try {
    checkTypeName(type);
    checkId(id, type);
  } catch (error) {
    throw new DumpFormatError((error as Error).message, line, { cause: error });
  }
  if (!KINDS.includes(kind as RecordKind)) throw new DumpFormatError(`kind must be "object" or "container", got ${JSON.stringify(kind)}`, line);
  if (!Number.isSafeInteger(version) || (version as number) < 1) throw new DumpFormatError(`version must be an integer >= 1, got ${JSON.stringify(version)}`, line);
  if (typeof updatedAt !== 'number' || !Number.isFinite(updatedAt)) throw new DumpFormatError(`updatedAt must be a number, got ${JSON.stringify(updatedAt)}`, line);
  if (typeof content !== 'string') throw new DumpFormatError('content must be a string', line);
  checkContent(content, line, type, id);
  const record: StoredRecord = { type, id, kind: kind as RecordKind, version: version as number, updatedAt, content };
  if (previous) {
    const order = compareIds(previous.type, type) || compareIds(previous.id, id);
    if (order === 0) throw new DumpFormatError(`${type} ${JSON.stringify(id)} appears twice`, line);
    if (order > 0) throw new DumpFormatError(`records must be ordered by type, then id: ${type} ${JSON.stringify(id)} comes after ${previous.type} ${JSON.stringify(previous.id)}`, line);
  }
  return record;
}

function checkContent(content: string, line: number, type: string, id: string): void {
  let envelope: unknown;
  try {
    envelope = JSON.parse(content);
  } catch (error) {
    throw new DumpFormatError(`content is not valid JSON (${(error as Error).message})`, line, { cause: error });
  }
  if (!isObject(envelope) || !('json' in envelope)) throw new DumpFormatError('content is not a cuttle document (no "json" field)', line);
  // A document that could not be saved again is not imported: save's limit, and save's message.
  const tooDeep = depthProblem(envelope, type, id);
  if (tooDeep !== undefined) throw new DumpFormatError(tooDeep, line);
}

export function checkImportOptions(options: ImportOptions): void {
  checkOptions('import', options, ['mode', 'maxLineBytes', 'onProgress']);
  checkOneOf('import', 'mode', options.mode, ['merge', 'replace']);
  checkInteger('import', 'maxLineBytes', options.maxLineBytes, 1024);
}

/** How many records `backend` holds: the sum of its types' counts. */
export async function countRecords(backend: StorageBackend): Promise<number> {
  let total = 0;
  for (const type of await backend.listTypes()) total += await backend.count(type);
  return total;
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
