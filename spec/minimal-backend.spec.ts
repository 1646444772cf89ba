// A backend written as a third party would write one: only the required core of the contract,
// against the published package (`cuttle` and `cuttle/testing`, built by `npm test` first), with
// the shipped conformance suite in three lines. Every default of the contract is what it runs on.
import { ClosedError, ConflictError, StorageBackend, type RecordWrite, type StoredRecord } from 'cuttle';
import { backendSuite } from 'cuttle/testing';

/** Records in one Map keyed by type and id; nothing but the abstract methods. */
class MapBackend extends StorageBackend {
  readonly name = 'map';
  readonly #records = new Map<string, StoredRecord>();
  #closed = false;

  async load(type: string, id: string): Promise<StoredRecord | undefined> {
    this.#check();
    return this.#records.get(key(type, id));
  }
  async write(write: RecordWrite): Promise<StoredRecord> {
    this.#check();
    const version = this.#records.get(key(write.type, write.id))?.version ?? 0;
    if (write.expectedVersion !== undefined && write.expectedVersion !== version) throw new ConflictError(write.type, write.id, write.expectedVersion, version);
    const record: StoredRecord = { type: write.type, id: write.id, kind: write.kind, content: write.content, version: version + 1, updatedAt: Date.now() };
    this.#records.set(key(write.type, write.id), record);
    return record;
  }
  async put(record: StoredRecord): Promise<void> {
    this.#check();
    this.#records.set(key(record.type, record.id), { ...record });
  }
  async delete(type: string, id: string, expectedVersion?: number): Promise<boolean> {
    this.#check();
    const version = this.#records.get(key(type, id))?.version ?? 0;
    if (expectedVersion !== undefined && expectedVersion !== version) throw new ConflictError(type, id, expectedVersion, version);
    return this.#records.delete(key(type, id));
  }
  async list(type: string): Promise<string[]> {
    this.#check();
    return [...this.#records.values()].filter((record) => record.type === type).map((record) => record.id).sort(compareCodePoints);
  }
  async listTypes(): Promise<string[]> {
    this.#check();
    return [...new Set([...this.#records.values()].map((record) => record.type))].sort(compareCodePoints);
  }
  async clear(): Promise<void> {
    this.#check();
    this.#records.clear();
  }
  async close(): Promise<void> {
    this.#closed = true;
  }
  #check(): void {
    if (this.#closed) throw new ClosedError('MapBackend');
  }
}

const key = (type: string, id: string) => `${type}\u0000${id}`;
/** Code point order, as cuttle lists ids. */
const compareCodePoints = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

backendSuite('a backend with only the required core, through cuttle/testing', () => new MapBackend());
