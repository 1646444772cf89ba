/**
 * What only some platforms provide, as slots their entry module fills: on Node, src/node.ts puts
 * in dump files and streams (`exportTo`/`importFrom`) and the file, SQLite and PostgreSQL backend
 * kinds. The core (this module's importers) runs without them, in a browser too.
 * @module
 */
import type { StorageBackend } from './backends/backend.js';
import type { ExportOptions, ExportSummary, ImportOptions, ImportSummary } from './dump-format.js';
import { UnsupportedError } from './errors.js';

/**
 * Where a dump can be written: a file path, or a writable stream (a Node `Writable`, e.g.
 * `process.stdout`, or anything with its `write(chunk, callback)`, `on`/`off` and `destroyed`).
 */
export interface DumpWritable {
  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a Node stream's listeners take any
  on(event: 'error' | 'drain' | 'close', listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  off(event: 'error' | 'drain' | 'close', listener: (...args: any[]) => void): unknown;
  readonly destroyed?: boolean;
}

/** What a dump can be read from besides a path: a Node `Readable`, or any async iterable of chunks. */
export type DumpReadable = AsyncIterable<string | Uint8Array>;

/** Dump files and streams: Node's (dump-files.ts). */
export interface DumpFiles {
  exportTo(backend: StorageBackend, destination: string | DumpWritable, options?: ExportOptions): Promise<ExportSummary>;
  importFrom(backend: StorageBackend, source: string | DumpReadable, options?: ImportOptions): Promise<ImportSummary>;
}

let dumpFiles: DumpFiles | undefined;

/** Fills the dump files slot (src/node.ts does, once). */
export function provideDumpFiles(files: DumpFiles): void {
  dumpFiles = files;
}

/** The platform's dump files and streams. @throws UnsupportedError where there are none (a browser). */
export function theDumpFiles(what: string): DumpFiles {
  if (dumpFiles === undefined) {
    throw new UnsupportedError(`${what} reads or writes files and streams, which this platform does not have: use exportData()/importData() instead`);
  }
  return dumpFiles;
}
