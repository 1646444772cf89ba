/**
 * Data dumps: NDJSON, one header line, one line per record in (type, id) order, one trailer line
 * with the count and a SHA-256 of the record lines. Streamed both ways in constant memory. The
 * format is described in docs/dump-format.md.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { type RecordKind, type StorageBackend, type StoredRecord } from './backends/backend.js';
import { compareIds } from './ids.js';
import { ownedName, writerGone } from './backends/file-atomic.js';
import { depthProblem } from './codec.js';
import { checkId } from './ids.js';
import { BackendError, DumpFormatError, InvalidOptionError, type CorruptDataError } from './errors.js';
import { checkTypeName } from './ids.js';
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
 * Writes every record of `backend` to `destination` as a dump. A path is written to a temp file
 * beside it, fsynced and renamed into place at the end, so a failed export never leaves a partial
 * dump there (see {@link writeThroughTemp}).
 * @throws BackendError naming the file when it cannot be written (a missing folder, no permission,
 *   a full disk); nothing is left behind then.
 */
export async function exportTo(backend: StorageBackend, destination: string | Writable, options: ExportOptions = {}): Promise<ExportSummary> {
  checkOptions('exportTo', options, ['timestamp', 'onProgress', 'onCorrupt']);
  if (typeof destination !== 'string') {
    const sink = streamSink(destination);
    try {
      const summary = await writeDump(backend, sink.write, options);
      await sink.flush();
      return summary;
    } finally {
      sink.release();
    }
  }
  const target = resolve(destination);
  if (backend.ownsPath?.(target)) {
    throw new InvalidOptionError(`exportTo: the destination ${target} is part of the store ${backend.name}: the dump would overwrite it`);
  }
  return writeThroughTemp(target, backend.name, (write) => writeDump(backend, write, options));
}

/** Writes the dump of `backend`, a chunk of text at a time, through `write`. */
async function writeDump(backend: StorageBackend, write: (text: string) => Promise<void>, options: ExportOptions): Promise<ExportSummary> {
  const total = options.onProgress ? await countRecords(backend) : undefined;
  const header: DumpHeader = { format: DUMP_FORMAT, version: DUMP_VERSION };
  if (options.timestamp !== false) header.createdAt = Date.now();
  header.source = backend.name;
  const hash = createHash('sha256');
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
  const sha256 = hash.digest('hex');
  const trailer: DumpTrailer = { format: DUMP_END_FORMAT, count, sha256 };
  await write(chunk + JSON.stringify(trailer) + '\n');
  options.onProgress?.({ done: count, total });
  return { count, sha256 };
}

/** Every record in memory, for small stores. */
export async function exportData(backend: StorageBackend): Promise<Dump> {
  const records: StoredRecord[] = [];
  for await (const record of backend.records()) records.push(record);
  return { header: { format: DUMP_FORMAT, version: DUMP_VERSION, createdAt: Date.now(), source: backend.name }, records };
}

/**
 * Imports a dump file or stream. Every line is validated (header, fields, ids, order, count and
 * checksum) before the import can no longer be undone: on an atomic backend (SQLite, memory) the
 * records are stored as they are read and a bad line rolls everything back; elsewhere the dump is
 * read through once to validate it (a stream is first copied to a temp file) and then stored.
 */
export async function importFrom(backend: StorageBackend, source: string | Readable, options: ImportOptions = {}): Promise<ImportSummary> {
  checkImportOptions(options);
  if (typeof source === 'string' && backend.ownsPath?.(source)) {
    throw new InvalidOptionError(`import: the dump ${resolve(source)} is part of the store ${backend.name} it would be imported into`);
  }
  if (backend.capabilities.atomicImport) return storeDump(backend, readDump(source, options), options);
  let path = typeof source === 'string' ? source : undefined;
  let spool: string | undefined;
  let total = 0; // the records found valid, then stored
  try {
    if (path === undefined) {
      spool = await mkdtemp(join(tmpdir(), 'cuttle-import-'));
      path = join(spool, 'dump.ndjson');
      const copy = createWriteStream(path);
      for await (const _ of readDump(source, options, copy)) total++;
      copy.end();
      await finished(copy);
    } else {
      for await (const _ of readDump(path, options)) total++;
    }
    return await storeDump(backend, readDump(path, options), options, total);
  } finally {
    if (spool) await rm(spool, { recursive: true, force: true });
  }
}

/** Imports a dump held in memory (as `exportData()` returns it, or as NDJSON text). */
export async function importData(backend: StorageBackend, dump: Dump | string, options: ImportOptions = {}): Promise<ImportSummary> {
  checkImportOptions(options);
  if (typeof dump === 'string') return importFrom(backend, Readable.from([Buffer.from(dump)]), options);
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
 * The validated records of a dump, in order; throws {@link DumpFormatError} naming the line at the
 * first problem, including a missing or mismatched trailer (a truncated dump). The raw bytes are
 * copied to `copy` when given.
 */
export async function* readDump(source: string | Readable, options: ImportOptions = {}, copy?: Writable): AsyncGenerator<StoredRecord> {
  const input = typeof source === 'string' ? createReadStream(source) : source;
  const sink = copy && streamSink(copy);
  try {
    yield* parseDump(splitLines(input, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, sink?.write));
    await sink?.flush();
  } finally {
    sink?.release();
  }
}

/** The validated records of a dump given as its lines, without their `\n`; see {@link readDump}. */
async function* parseDump(lines: AsyncIterable<Buffer>): AsyncGenerator<StoredRecord> {
  const hash = createHash('sha256');
  let lineNumber = 0;
  let previous: StoredRecord | undefined;
  let trailer: DumpTrailer | undefined;
  let count = 0;
  for await (const bytes of lines) {
    lineNumber++;
    if (trailer) throw new DumpFormatError('text after the trailer line', lineNumber);
    const value = parseLine(bytes, lineNumber);
    if (lineNumber === 1) {
      checkHeader(value, lineNumber);
      continue;
    }
    if (isTrailer(value)) {
      trailer = checkTrailer(value, lineNumber);
      continue;
    }
    previous = checkRecord(value, lineNumber, previous);
    hash.update(bytes);
    hash.update('\n');
    count++;
    yield previous;
  }
  if (lineNumber === 0) throw new DumpFormatError('the dump is empty (no header line)', 1);
  if (!trailer) throw new DumpFormatError(`no trailer line after ${count} records: the dump is truncated`, lineNumber + 1);
  if (trailer.count !== count) {
    throw new DumpFormatError(`the trailer counts ${trailer.count} records but the dump has ${count}: the dump is damaged`, lineNumber);
  }
  const sha256 = hash.digest('hex');
  if (trailer.sha256 !== sha256) throw new DumpFormatError('the checksum of the record lines does not match the trailer: the dump is damaged', lineNumber);
}

/** Stores the records; progress counts them as the backend takes them, out of `total` when it is known. */
async function storeDump(backend: StorageBackend, records: AsyncIterable<StoredRecord>, options: ImportOptions, total?: number): Promise<ImportSummary> {
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

/**
 * Splits a byte stream into lines (without `\n` or a final `\r`), refusing lines over `max` bytes;
 * each chunk read goes to `copy` first, when given.
 */
async function* splitLines(input: Readable | AsyncIterable<Buffer | string>, max: number, copy?: (chunk: Buffer) => Promise<void>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let lineNumber = 1;
  for await (const piece of input) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    if (copy) await copy(chunk);
    let start = 0;
    for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
      pendingBytes += end - start;
      if (pendingBytes > max) throw new DumpFormatError(`line longer than ${max} bytes`, lineNumber);
      pending.push(chunk.subarray(start, end));
      yield trimCarriageReturn(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
      lineNumber++;
      start = end + 1;
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > max) throw new DumpFormatError(`line longer than ${max} bytes`, lineNumber);
      pending.push(chunk.subarray(start));
    }
  }
  if (pendingBytes > 0) yield trimCarriageReturn(Buffer.concat(pending));
}

function trimCarriageReturn(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, -1) : line;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseLine(bytes: Buffer, line: number): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
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

function checkImportOptions(options: ImportOptions): void {
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

// ---------------------------------------------------------------------------------------------
// File and stream I/O. Everything above it works on lines and records; what follows reads and
// writes them through node:fs and streams.

/** What killed exports leave beside their destination: `.<name>.<host>-<pid>-<unique>.tmp`. */
const TEMP_SUFFIX = '.tmp';

/**
 * Writes the file `target` with what `produce` hands to its `write`, atomically: into a temp file
 * beside it, `.<name>.<host>-<pid>-<unique>.tmp`, that is fsynced and renamed over `target` once
 * `produce` resolves, and removed if anything fails. Temp files of earlier writes to `target` whose
 * process (on this host) is gone, left by a kill, are removed first. The file is written through a
 * file handle, not a stream, so a failed open or write rejects here instead of emitting an
 * `'error'` event nobody listens to.
 * @throws BackendError naming `target` and `store` when the file cannot be written.
 */
async function writeThroughTemp<T>(target: string, store: string, produce: (write: (text: string) => Promise<void>) => Promise<T>): Promise<T> {
  const dir = dirname(target);
  const prefix = `${basename(target)}.`;
  await removeAbandonedTemps(dir, prefix);
  const temp = join(dir, ownedName(prefix, TEMP_SUFFIX));
  const fail = (error: unknown) => {
    throw cannotWrite(target, store, error);
  };
  const handle = await open(temp, 'wx').catch(fail);
  let closed = false;
  try {
    const result = await produce((text) => writeAll(handle, text).catch(fail));
    await handle.sync().catch(fail);
    closed = true;
    await handle.close().catch(fail);
    await rename(temp, target).catch(fail);
    return result;
  } catch (error) {
    if (!closed) await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw error;
  }
}

/** Removes, in `dir`, the temp files named `.<prefix>...tmp` whose writer on this host is gone. */
async function removeAbandonedTemps(dir: string, prefix: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]); // a missing folder fails at the open, with a clear error
  for (const name of names) {
    if (writerGone(name, prefix, TEMP_SUFFIX)) await rm(join(dir, name), { force: true });
  }
}

/** Writes all of `text` at the handle's position (a write may take less than it is given). */
async function writeAll(handle: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
}

function cannotWrite(file: string, store: string, error: unknown): BackendError {
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? `the folder ${dirname(file)} does not exist`
    : code === 'ENOTDIR' ? `a part of ${dirname(file)} is not a folder`
    : code === 'EISDIR' ? 'it is a folder'
    : (error as Error).message;
  return new BackendError(`cannot write the dump ${file}: ${why}`, { store, systemCode: code, file }, { cause: error });
}

/**
 * Writing to a stream someone else owns. An `'error'` listener stays on it until `release()`, and
 * `flush()` waits for the last write's callback, so an error the stream reports at any time, even
 * between two writes or after the last one, rejects a write or the flush instead of crashing the
 * process as an unhandled `'error'` event.
 */
function streamSink(out: Writable): { write: (chunk: string | Buffer) => Promise<void>; flush(): Promise<void>; release(): void } {
  let failure: Error | undefined;
  let last: Promise<void> = Promise.resolve();
  const fail = (error: Error | null | undefined) => {
    if (error) failure ??= error;
  };
  out.on('error', fail);
  return {
    write: async (chunk) => {
      if (failure) throw failure;
      if (out.destroyed) throw new Error('the dump destination was closed before the dump was written');
      let accepted!: boolean;
      last = new Promise((resolve) => {
        accepted = out.write(chunk, (error) => resolve(fail(error)));
      });
      if (!accepted) await drained(out);
      if (failure) throw failure;
    },
    flush: async () => {
      await last;
      if (failure) throw failure;
    },
    release: () => out.off('error', fail),
  };
}

/** Resolves when `out` asks for more ('drain'), or when it closes or fails. */
function drained(out: Writable): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('error', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('error', done);
    out.on('close', done);
  });
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
