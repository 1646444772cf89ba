import { ClosedError, ConflictError } from '../errors.js';
import { checkOptions } from '../options.js';
import { StorageBackend, type BackendCapabilities, type RecordWrite, type StoredRecord } from './backend.js';
import { sortIds } from '../ids.js';

/** Options of {@link InMemoryBackend}. */
export interface InMemoryBackendOptions {
  /** The clock for `updatedAt`, in ms since the epoch. @default Date.now */
  now?: () => number;
}

/**
 * Keeps records in a Map of Maps. It stores the serialized record, never the live object, so it
 * behaves like the persistent backends: mutating an object after saving it changes nothing stored.
 * Everything is lost when the process ends.
 */
export class InMemoryBackend extends StorageBackend {
  readonly name = 'memory';
  readonly #types = new Map<string, Map<string, StoredRecord>>();
  readonly #now: () => number;
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
    return this.#write(write);
  }

  /** All or nothing: every write is read and its `expectedVersion` checked before any is made. */
  override async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    this.#check();
    const all = [...writes];
    for (const write of all) this.#checkVersion(write);
    return all.map((write) => this.#write(write));
  }

  async put(record: StoredRecord): Promise<void> {
    this.#check();
    this.#put(Object.freeze({ ...record }));
  }

  /** Batches and imports are all or nothing: nothing changes until every record has been read. */
  override get capabilities(): BackendCapabilities {
    return { ...super.capabilities, atomicBatch: true, atomicImport: true };
  }

  override async importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    this.#check();
    const incoming: StoredRecord[] = [];
    for await (const record of records) incoming.push(Object.freeze({ ...record }));
    this.#check();
    if (options.replace) this.#types.clear();
    for (const record of incoming) this.#put(record);
    return incoming.length;
  }

  async delete(type: string, id: string): Promise<boolean> {
    this.#check();
    const ids = this.#types.get(type);
    if (!ids?.delete(id)) return false;
    if (ids.size === 0) this.#types.delete(type);
    return true;
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
    return sortIds([...(this.#types.get(type)?.keys() ?? [])]);
  }

  async listTypes(): Promise<string[]> {
    this.#check();
    return sortIds([...this.#types.keys()]);
  }

  async clear(): Promise<void> {
    this.#check();
    this.#types.clear();
  }

  /** Every record as of the first read, in (type, id) order: one snapshot (records are frozen), so an export or backup is consistent. */
  override async *records(): AsyncIterableIterator<StoredRecord> {
    this.#check();
    const snapshot = sortIds([...this.#types.keys()]).map((type) => {
      const ids = this.#types.get(type)!;
      return sortIds([...ids.keys()]).map((id) => ids.get(id)!);
    });
    for (const records of snapshot) yield* records;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#types.clear();
  }

  #write(write: RecordWrite): StoredRecord {
    const previous = this.#checkVersion(write);
    const record: StoredRecord = Object.freeze({
      type: write.type,
      id: write.id,
      kind: write.kind,
      content: write.content,
      version: (previous?.version ?? 0) + 1,
      updatedAt: this.#now(),
    });
    this.#put(record);
    return record;
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
    let ids = this.#types.get(record.type);
    if (!ids) this.#types.set(record.type, (ids = new Map()));
    ids.set(record.id, record);
  }

  #check(): void {
    if (this.#closed) throw new ClosedError(`InMemoryBackend`);
  }
}
