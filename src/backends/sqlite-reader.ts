/**
 * The SQLite backend's pool of reader worker threads, managed by generic-pool. Each reader has
 * its own read-only connection and streams the whole table, in chunks, from one snapshot, so a
 * large export neither blocks the event loop with SQLite work nor holds the writer connection.
 * Saves and ordinary loads never come here: they run on the writer connection, synchronously,
 * because a round trip to a worker costs more than the statement itself (docs/backends/sqlite.md).
 * @module
 */
import { createPool, type Pool } from 'generic-pool';
import { Worker } from 'node:worker_threads';
import { READER_SOURCE, ReaderError, type ReaderData, type ReaderReply, type ReaderRequest, type ReaderRow, type SalvageReads } from './sqlite-reader-worker.js';
import { isCorrupt, salvage, type SalvageProblem, type SalvageSource } from './sqlite-salvage.js';

export { ReaderError, type ReaderRow } from './sqlite-reader-worker.js';

/** The pool's state, as generic-pool counts it. */
export interface PoolStatus {
  /** Readers started (available + borrowed). */
  readonly size: number;
  /** Readers started and idle. */
  readonly available: number;
  /** Readers streaming an export right now. */
  readonly borrowed: number;
  /** Exports waiting for a reader. */
  readonly pending: number;
  /** The most readers the pool starts. */
  readonly max: number;
}

/**
 * One worker thread. It starts on the first request and holds the process open only while a
 * request is under way or while it is being stopped.
 */
class Reader {
  readonly #data: ReaderData;
  #worker: Worker | undefined;
  #pending: { resolve: (reply: ReaderReply) => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;

  constructor(data: ReaderData) {
    this.#data = data;
  }

  /** Whether the worker died or was stopped; such a reader is destroyed, not returned to the pool. */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  request(request: ReaderRequest): Promise<ReaderReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const worker = (this.#worker ??= this.#start());
    worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      worker.postMessage(request);
    });
  }

  /** Fails the request under way, if any, and resolves once the thread has stopped. */
  async terminate(): Promise<void> {
    this.#fail(new ReaderError('the reader was closed'));
    await this.#worker?.terminate();
  }

  #start(): Worker {
    const worker = new Worker(READER_SOURCE, { eval: true, workerData: this.#data });
    worker.unref();
    worker.on('message', (reply: ReaderReply) => {
      // Worker.terminate() refs the thread until its 'exit' event. A reply that crossed it must
      // not unref it again: the event loop could then drain first, and terminate() never resolve.
      if (this.#failure) return;
      worker.unref();
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.resolve(reply);
    });
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', (code) => this.#fail(new ReaderError(`the reader thread stopped (exit code ${code})`)));
    return worker;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(this.#failure);
  }
}

/** Reader threads for one database file. */
export class ReaderPool {
  readonly #pool: Pool<Reader>;
  readonly #readers = new Set<Reader>();
  readonly #acquireTimeout: number;
  #closed = false;

  /**
   * @param size the most readers at once; more exports wait for one.
   * @param acquireTimeoutMillis how long an export waits for a reader; 0: forever.
   */
  constructor(data: ReaderData, size: number, acquireTimeoutMillis: number) {
    this.#acquireTimeout = acquireTimeoutMillis;
    const readers = this.#readers;
    this.#pool = createPool<Reader>(
      {
        create: async () => {
          const reader = new Reader(data);
          readers.add(reader);
          return reader;
        },
        destroy: async (reader) => {
          readers.delete(reader);
          await reader.terminate();
        },
      },
      { max: size, min: 0, ...(acquireTimeoutMillis > 0 ? { acquireTimeoutMillis } : {}) },
    );
  }

  get status(): PoolStatus {
    const pool = this.#pool;
    // Once closed every thread is stopped, though generic-pool's clear() leaves them counted as available.
    if (this.#closed) return Object.freeze({ size: 0, available: 0, borrowed: 0, pending: 0, max: pool.max });
    return Object.freeze({ size: pool.size, available: pool.available, borrowed: pool.borrowed, pending: pool.pending, max: pool.max });
  }

  /**
   * The table's rows in (type, id) order, a chunk at a time, from one snapshot. The next chunk is
   * read while the caller handles this one, and no more than that: memory stays at two chunks.
   * With `report`, a scan that meets a damaged page salvages the rest (see `sqlite-salvage.ts`)
   * and reports what it cannot read; without it, or for any other error, it throws
   * {@link ReaderError} for what the reader reports, or the pool's own errors (a timeout).
   */
  async *scan(report?: (problem: SalvageProblem) => void): AsyncGenerator<ReaderRow[]> {
    let reader: Reader;
    try {
      reader = await this.#pool.acquire();
    } catch (error) {
      if ((error as Error).name !== 'TimeoutError') throw error;
      throw new ReaderError(`every reader thread stayed busy for acquireTimeoutMillis (${this.#acquireTimeout} ms)`);
    }
    // The request in flight, if any: the caller may stop iterating while it is.
    let inFlight: Promise<ReaderReply> | undefined;
    let ended = false;
    try {
      if (this.#closed) throw new ReaderError('the reader pool is closed');
      let next = (inFlight = reader.request({ op: 'next' }));
      let last: readonly [string, string] | undefined;
      for (;;) {
        const reply = await next;
        inFlight = undefined;
        if ('error' in reply) {
          if (report === undefined || !isCorrupt(reply.error.code)) throw new ReaderError(reply.error.message, reply.error.code);
          yield* salvage(readerSource(reader), last, reply.error, report);
          return;
        }
        if (!('rows' in reply)) throw new ReaderError('the reader answered a scan with a salvage read');
        if (!reply.done) {
          next = inFlight = reader.request({ op: 'next' });
          next.catch(() => {}); // awaited on the next turn; not an unhandled rejection meanwhile
        }
        const end = reply.rows.at(-1);
        if (end) {
          last = [end[0], end[1]];
          yield reply.rows;
        }
        if (reply.done) {
          ended = true;
          return;
        }
      }
    } finally {
      // Stopped early or failed: wait for the chunk in flight and end the scan, so the reader can be reused.
      if (inFlight) await inFlight.catch(() => {});
      if (!ended) await reader.request({ op: 'close' }).catch(() => {});
      // close() takes back every borrowed reader itself.
      if (this.#pool.isBorrowedResource(reader)) {
        if (reader.failed || this.#closed) await this.#pool.destroy(reader);
        else await this.#pool.release(reader);
      }
    }
  }

  /**
   * Stops every reader thread, borrowed or not; scans under way fail, and so do exports waiting
   * for a reader. Resolves once every thread has stopped.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    // Refuses new exports; resolves once every export waiting for a reader has had one (and given it back).
    const drained = pool.drain();
    // A borrowed reader is taken back here, not when its export resumes: an export paused for
    // good would otherwise keep it, and every export waiting for a reader would wait forever.
    // Each waiting one then gets a new reader, which it destroys at once, seeing the pool closed.
    const stopped = [...this.#readers].map((reader) => reader.terminate());
    for (const reader of [...this.#readers]) if (pool.isBorrowedResource(reader)) await pool.destroy(reader);
    await Promise.all(stopped);
    await drained;
    await pool.clear();
  }
}

/** {@link SalvageReads} as requests to `reader`, in its scan's snapshot. */
function readerSource(reader: Reader): SalvageSource {
  const read =
    <K extends keyof SalvageReads>(name: K) =>
    async (...args: Parameters<SalvageReads[K]>): Promise<ReturnType<SalvageReads[K]>> => {
      const reply = await reader.request({ op: 'salvage', read: name, args } as ReaderRequest);
      if ('error' in reply) throw new ReaderError(reply.error.message, reply.error.code);
      if (!('value' in reply)) throw new ReaderError(`the reader answered the salvage read ${name} with a chunk`);
      return reply.value as ReturnType<SalvageReads[K]>;
    };
  return { indexed: read('indexed'), walk: read('walk'), rows: read('rows'), maxRowid: read('maxRowid') };
}
