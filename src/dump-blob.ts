/**
 * Dumps as `Blob`s, for the browser (and anywhere there is a `Blob`, Node 20 included): a store's
 * NDJSON dump, the same bytes as a dump file (docs/dump-format.md), to offer as a download, and
 * the import of such a dump from a `Blob` or a `File` the user picked, read as a stream.
 * @module
 */
import type { StorageBackend } from './backends/backend.js';
import {
  checkImportOptions,
  DEFAULT_MAX_LINE_BYTES,
  parseDump,
  storeDump,
  webHash,
  writeDump,
  type ExportOptions,
  type ImportOptions,
  type ImportSummary,
} from './dump-format.js';
import { DumpFormatError } from './errors.js';
import { describe } from './options.js';

/** The media type of a dump Blob. */
export const DUMP_MEDIA_TYPE = 'application/x-ndjson';

/**
 * The dump of `backend` as a Blob. It is built in memory: the text of the dump, and as much again
 * for its checksum (Web Crypto digests whole buffers).
 */
export async function exportBlob(backend: StorageBackend, options: ExportOptions = {}): Promise<Blob> {
  const parts: string[] = [];
  await writeDump(backend, async (text) => void parts.push(text), options, webHash());
  return new Blob(parts, { type: DUMP_MEDIA_TYPE });
}

/**
 * Imports the dump in `blob` (a `File` is a Blob), reading it as a stream. On a backend with
 * `atomicImport` (memory, IndexedDB, SQLite, PostgreSQL) the records go to the backend as they
 * are read, and a bad line anywhere leaves the store as it was; on another backend the Blob is
 * read twice, first to validate every line, then to store.
 * @throws DumpFormatError naming the line of the first problem.
 */
export async function importBlob(backend: StorageBackend, blob: Blob, options: ImportOptions = {}): Promise<ImportSummary> {
  checkImportOptions(options);
  if (typeof Blob !== 'function' || !(blob instanceof Blob)) throw new TypeError(`importBlob expects a Blob or a File, got ${describe(blob)}`);
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!backend.capabilities.atomicImport) {
    for await (const _ of parseDump(blobLines(blob, max), webHash()));
  }
  return storeDump(backend, parseDump(blobLines(blob, max), webHash()), options);
}

/** The lines of `blob`'s bytes, without their `\n` (nor a final `\r`); nothing after a final `\n`. */
async function* blobLines(blob: Blob, max: number): AsyncGenerator<Uint8Array> {
  const reader = blob.stream().getReader();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let lineNumber = 1;
  try {
    for (;;) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      let start = 0;
      for (let end = chunk.indexOf(10); end !== -1; end = chunk.indexOf(10, start)) {
        pendingBytes += end - start;
        if (pendingBytes > max) throw new DumpFormatError(`line longer than ${max} bytes`, lineNumber);
        pending.push(chunk.subarray(start, end));
        yield trimReturn(concat(pending, pendingBytes));
        [pending, pendingBytes, start] = [[], 0, end + 1];
        lineNumber++;
      }
      if (start < chunk.length) {
        pendingBytes += chunk.length - start;
        if (pendingBytes > max) throw new DumpFormatError(`line longer than ${max} bytes`, lineNumber);
        pending.push(chunk.subarray(start));
      }
    }
    if (pendingBytes > 0) yield trimReturn(concat(pending, pendingBytes));
  } finally {
    reader.releaseLock();
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const all = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

function trimReturn(line: Uint8Array): Uint8Array {
  return line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, -1) : line;
}
