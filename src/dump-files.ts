/**
 * Dump files and streams, Node's part of the dump format (dump-format.ts): `exportTo` a path
 * (through a temp file, renamed when complete) or a writable stream, `importFrom` a path or a
 * readable stream, in constant memory, hashing with node:crypto.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { StorageBackend, StoredRecord } from './backends/backend.js';
import { ownedName, writerGone } from './backends/file-atomic.js';
import {
  checkImportOptions,
  DEFAULT_MAX_LINE_BYTES,
  parseDump,
  storeDump,
  writeDump,
  type ExportOptions,
  type ExportSummary,
  type ImportOptions,
  type ImportSummary,
  type LineHash,
} from './dump-format.js';
import { BackendError, DumpFormatError, InvalidOptionError } from './errors.js';
import { checkOptions } from './options.js';
import type { DumpReadable, DumpWritable } from './platform.js';

/** The {@link LineHash} of node:crypto: streaming, native. */
function nodeHash(): LineHash {
  const hash = createHash('sha256');
  return {
    update: (data) => void hash.update(data),
    digest: async () => hash.digest('hex'),
  };
}

/**
 * Writes every record of `backend` to `destination` as a dump. A path is written to a temp file
 * beside it, fsynced and renamed into place at the end, so a failed export never leaves a partial
 * dump there (see {@link writeThroughTemp}).
 * @throws BackendError naming the file when it cannot be written (a missing folder, no permission,
 *   a full disk); nothing is left behind then.
 */
export async function exportTo(backend: StorageBackend, destination: string | DumpWritable, options: ExportOptions = {}): Promise<ExportSummary> {
  checkOptions('exportTo', options, ['timestamp', 'onProgress', 'onCorrupt']);
  if (typeof destination !== 'string') {
    const sink = streamSink(destination as Writable);
    try {
      const summary = await writeDump(backend, sink.write, options, nodeHash());
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
  return writeThroughTemp(target, backend.name, (write) => writeDump(backend, write, options, nodeHash()));
}

/**
 * Imports a dump file or stream. Every line is validated (header, fields, ids, order, count and
 * checksum) before the import can no longer be undone: on an atomic backend (SQLite, memory) the
 * records are stored as they are read and a bad line rolls everything back; elsewhere the dump is
 * read through once to validate it (a stream is first copied to a temp file) and then stored.
 */
export async function importFrom(backend: StorageBackend, source: string | DumpReadable, options: ImportOptions = {}): Promise<ImportSummary> {
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

/**
 * The validated records of a dump, in order; throws {@link DumpFormatError} naming the line at the
 * first problem, including a missing or mismatched trailer (a truncated dump). The raw bytes are
 * copied to `copy` when given.
 */
export async function* readDump(source: string | DumpReadable, options: ImportOptions = {}, copy?: Writable): AsyncGenerator<StoredRecord> {
  const input = typeof source === 'string' ? createReadStream(source) : (source as AsyncIterable<Buffer | string>);
  const sink = copy && streamSink(copy);
  try {
    yield* parseDump(splitLines(input, options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, sink?.write), nodeHash());
    await sink?.flush();
  } finally {
    sink?.release();
  }
}

/**
 * Splits a byte stream into lines (without `\n` or a final `\r`), refusing lines over `max` bytes;
 * each chunk read goes to `copy` first, when given.
 */
async function* splitLines(input: AsyncIterable<Buffer | string>, max: number, copy?: (chunk: Buffer) => Promise<void>): AsyncGenerator<Buffer> {
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

// ---------------------------------------------------------------------------------------------
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

