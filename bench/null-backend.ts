// A backend that does nothing, for measuring the Store and codec alone: every load returns the
// one record it was given, every write succeeds at version 1.
import { StorageBackend, type RecordWrite, type StoredRecord } from '../dist/index.js';

export class NullBackend extends StorageBackend {
  readonly name = 'null';
  readonly #record: StoredRecord | undefined;

  constructor(record?: StoredRecord) {
    super();
    this.#record = record;
  }
  async load(): Promise<StoredRecord | undefined> {
    return this.#record;
  }
  async write(write: RecordWrite): Promise<StoredRecord> {
    return { ...write, version: 1, updatedAt: 0 };
  }
  override async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    return Array.from(writes, (write) => ({ ...write, version: 1, updatedAt: 0 }));
  }
  async put(): Promise<void> {}
  async delete(): Promise<boolean> {
    return false;
  }
  async list(): Promise<string[]> {
    return [];
  }
  async listTypes(): Promise<string[]> {
    return [];
  }
  async clear(): Promise<void> {}
  async close(): Promise<void> {}
}
