import { ClosedError, ConflictError, TransactionError } from '../errors.js';
import { checkOptions } from '../options.js';
import type { Query } from '../query/query.js';
import { StorageBackend, type BackendCapabilities, type BackendFindOptions, type BackendTransaction, type FindAnswer, type RecordWrite, type StoredRecord } from './backend.js';
import { sortIds } from '../ids.js';
import { Exclusive } from './exclusive.js';
import { findIn, findStaged, type PageCache } from './memory-find.js';
import { MemoryTable, pathKey } from './memory-table.js';

/** Options of {@link InMemoryBackend}. */
export interface InMemoryBackendOptions {
  /** The clock for `updatedAt`, in ms since the epoch. @default Date.now */
  now?: () => number;
}

/**
 * Keeps records in a Map of tables, one per type (memory-table.ts). It stores the serialized record,
 * never the live object, so it behaves like the persistent backends: mutating an object after saving
 * it changes nothing stored. Everything is lost when the process ends.
 *
 * It answers queries itself (memory-find.ts): `createIndex` keeps a sorted index of a path in step
 * with every change, which narrows the records a query reads; records are judged on their parsed
 * JSON (parsed once per stored record and kept, never handed out) where that is what the store
 * would decode, and left to the store otherwise.
 */
export class InMemoryBackend extends StorageBackend {
  readonly name = 'memory';
  readonly #types = new Map<string, MemoryTable>();
  /** type -> the indexed paths (by their dotted key): kept when the type's records all go, until `close`. */
  readonly #indexed = new Map<string, Map<string, readonly string[]>>();
  /** The last whole answer a page past the first needed, for the next pages of that query. */
  readonly #pages: PageCache = {};
  readonly #now: () => number;
  /** Held by a transaction: changes from outside it wait (reads need not: nothing shows before the commit). */
  readonly #gate = new Exclusive();
  #closed = false;

  constructor(options: InMemoryBackendOptions = {}) {
    super();
    checkOptions('InMemoryBackend', options, ['now']);
    this.#now = options.now ?? Date.now;
  }

  async load(type: string, id: string): Promise<StoredRecord | undefined> {
    this.#check();
    return this.#types.get(type)?.get(id);
  }

  async write(write: RecordWrite): Promise<StoredRecord> {
    this.#check();
    if (this.#gate.held) await this.#turn();
    return this.#write(write);
  }

  /** All or nothing: every write is read and its `expectedVersion` checked before any is made. */
  override async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    this.#check();
    if (this.#gate.held) await this.#turn();
    const all = [...writes];
    for (const write of all) this.#checkVersion(write);
    return all.map((write) => this.#write(write));
  }

  async put(record: StoredRecord): Promise<void> {
    this.#check();
    if (this.#gate.held) await this.#turn();
    this.#put(Object.freeze({ ...record }));
  }

  /** Batches and imports are all or nothing: nothing changes until every record has been read. */
  override get capabilities(): BackendCapabilities {
    return { ...super.capabilities, atomicBatch: true, atomicImport: true, transactions: true, query: true };
  }

  override async find(type: string, query: Query, options?: BackendFindOptions): Promise<FindAnswer> {
    this.#check();
    return findIn(this.#types.get(type), query, options, this.#pages);
  }

  /** Indexes `path` of `type` over what is stored, kept in step with every change from now on; idempotent. `id` needs none. */
  override async createIndex(type: string, path: readonly string[]): Promise<void> {
    this.#check();
    if (path.length === 1 && path[0] === 'id') return;
    let paths = this.#indexed.get(type);
    if (paths === undefined) this.#indexed.set(type, (paths = new Map()));
    paths.set(pathKey(path), [...path]);
    this.#types.get(type)?.addIndex(path);
  }

  /**
   * Transactions take turns (one at a time, and changes from outside one wait for it): its writes
   * are staged and applied at once when `work` resolves, so a reader outside never sees part of one.
   */
  override async transaction<T>(work: (tx: BackendTransaction) => Promise<T>): Promise<T> {
    this.#check();
    return this.#gate.hold(async () => {
      this.#check();
      /** type -> id -> the record as the transaction left it, `null` when it deleted it. */
      const staged = new Map<string, Map<string, StoredRecord | null>>();
      let open = true;
      const check = () => {
        this.#check();
        if (!open) throw new TransactionError(`this memory transaction has ended: use it only inside its callback`, 'ended');
      };
      const current = (type: string, id: string): StoredRecord | undefined => {
        const ids = staged.get(type);
        return ids?.has(id) ? (ids.get(id) ?? undefined) : this.#types.get(type)?.get(id);
      };
      const stage = (type: string, id: string, record: StoredRecord | null) => {
        let ids = staged.get(type);
        if (!ids) staged.set(type, (ids = new Map()));
        ids.set(id, record);
      };
      const tx: BackendTransaction = {
        load: async (type, id) => {
          check();
          return current(type, id);
        },
        loadMany: async (type, ids) => {
          check();
          return ids.map((id) => current(type, id));
        },
        list: async (type) => {
          check();
          const ids = new Set(this.#types.get(type)?.ids());
          for (const [id, record] of staged.get(type) ?? []) {
            if (record) ids.add(id);
            else ids.delete(id);
          }
          return sortIds([...ids]);
        },
        exists: async (type, id) => {
          check();
          return current(type, id) !== undefined;
        },
        find: async (type, query, options) => {
          check();
          return findStaged(this.#types.get(type), staged.get(type), query, options);
        },
        write: async (write) => {
          check();
          const actual = current(write.type, write.id)?.version ?? 0;
          if (write.expectedVersion !== undefined && write.expectedVersion !== actual) throw new ConflictError(write.type, write.id, write.expectedVersion, actual);
          const record = this.#record(write, actual + 1);
          stage(write.type, write.id, record);
          return record;
        },
        delete: async (type, id, expectedVersion) => {
          check();
          const actual = current(type, id)?.version ?? 0;
          if (expectedVersion !== undefined && expectedVersion !== actual) throw new ConflictError(type, id, expectedVersion, actual);
          if (actual === 0) return false;
          stage(type, id, null);
          return true;
        },
      };
      try {
        const result = await work(tx);
        this.#check();
        for (const [type, ids] of staged) {
          for (const [id, record] of ids) {
            if (record) this.#put(record);
            else this.#remove(type, id);
          }
        }
        return result;
      } finally {
        open = false;
      }
    });
  }

  /** Waits while a transaction is open. */
  async #turn(): Promise<void> {
    while (this.#gate.held) await this.#gate.held;
    this.#check();
  }

  override async importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    this.#check();
    const incoming: StoredRecord[] = [];
    for await (const record of records) incoming.push(Object.freeze({ ...record }));
    await this.#turn();
    if (options.replace) this.#types.clear();
    for (const record of incoming) this.#put(record);
    return incoming.length;
  }

  async delete(type: string, id: string, expectedVersion?: number): Promise<boolean> {
    this.#check();
    if (this.#gate.held) await this.#turn();
    if (expectedVersion !== undefined) {
      const actual = this.#types.get(type)?.get(id)?.version ?? 0;
      if (actual !== expectedVersion) throw new ConflictError(type, id, expectedVersion, actual);
    }
    return this.#remove(type, id);
  }

  override async exists(type: string, id: string): Promise<boolean> {
    this.#check();
    return this.#types.get(type)?.has(id) ?? false;
  }

  override async count(type: string): Promise<number> {
    this.#check();
    return this.#types.get(type)?.size ?? 0;
  }

  async list(type: string): Promise<string[]> {
    this.#check();
    return this.#types.get(type)?.ids() ?? [];
  }

  async listTypes(): Promise<string[]> {
    this.#check();
    return sortIds([...this.#types.keys()]);
  }

  async clear(): Promise<void> {
    this.#check();
    if (this.#gate.held) await this.#turn();
    this.#types.clear();
  }

  /** Every record as of the first read, in (type, id) order: one snapshot (records are frozen), so an export or backup is consistent. */
  override async *records(): AsyncIterableIterator<StoredRecord> {
    this.#check();
    const snapshot = sortIds([...this.#types.keys()]).map((type) => {
      const table = this.#types.get(type)!;
      return table.ids().map((id) => table.get(id)!);
    });
    for (const records of snapshot) yield* records;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#types.clear();
    this.#indexed.clear();
    this.#pages.last = undefined;
    this.#pages.seen = undefined;
  }

  #write(write: RecordWrite): StoredRecord {
    const previous = this.#checkVersion(write);
    const record = this.#record(write, (previous?.version ?? 0) + 1);
    this.#put(record);
    return record;
  }

  #record(write: RecordWrite, version: number): StoredRecord {
    return Object.freeze({ type: write.type, id: write.id, kind: write.kind, content: write.content, version, updatedAt: this.#now() });
  }

  #remove(type: string, id: string): boolean {
    const table = this.#types.get(type);
    if (!table?.delete(id)) return false;
    if (table.size === 0) this.#types.delete(type);
    return true;
  }

  #checkVersion(write: RecordWrite): StoredRecord | undefined {
    const previous = this.#types.get(write.type)?.get(write.id);
    const actual = previous?.version ?? 0;
    if (write.expectedVersion !== undefined && write.expectedVersion !== actual) {
      throw new ConflictError(write.type, write.id, write.expectedVersion, actual);
    }
    return previous;
  }

  #put(record: StoredRecord): void {
    let table = this.#types.get(record.type);
    if (!table) this.#types.set(record.type, (table = new MemoryTable(this.#indexed.get(record.type)?.values())));
    table.set(record);
  }

  #check(): void {
    if (this.#closed) throw new ClosedError(`InMemoryBackend`);
  }
}
