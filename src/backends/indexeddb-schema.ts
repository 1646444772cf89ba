/**
 * The IndexedDB backend's database: its object stores and its one upgrade step. Version 1:
 * - `objects`: the records as stored (`StoredRecord`), keyed `[type, id]`;
 * - `meta`: `seq`, the number of the last write transaction (the change feed's counter);
 * - `staging`: the records of imports under way, keyed `[token, type, id]` (see
 *   indexeddb-import.ts).
 * A later version adds a step to {@link upgrade}, never changes this one.
 * @module
 */

/** The database version this cuttle creates and reads. */
export const SCHEMA_VERSION = 1;
/** The store of the records, keyed `[type, id]`. */
export const OBJECTS = 'objects';
/** The store of the commit counter ({@link SEQ}). */
export const META = 'meta';
/** The store of imports under way, keyed `[token, type, id]`. */
export const STAGING = 'staging';
/** The key of the sequence number in {@link META}. */
export const SEQ = 'seq';

/** Creates the stores of every version after `oldVersion` (called in `upgradeneeded`). */
export function upgrade(db: IDBDatabase, oldVersion: number): void {
  if (oldVersion < 1) {
    db.createObjectStore(OBJECTS, { keyPath: ['type', 'id'] });
    db.createObjectStore(META).put(0, SEQ);
    db.createObjectStore(STAGING, { keyPath: ['token', 'type', 'id'] });
  }
}

/** The keys of every object of `type`: `[type, id]` for any id (an array sorts after every string). */
export function typeRange(type: string): IDBKeyRange {
  return IDBKeyRange.bound([type], [type, []]);
}

/**
 * Adds one to the stored sequence number, in `tx` (which must cover {@link META}).
 * @returns the new number, once read.
 */
export function nextSeq(tx: IDBTransaction): Promise<number> {
  const meta = tx.objectStore(META);
  return new Promise((resolve, reject) => {
    const read = meta.get(SEQ);
    read.onerror = () => reject(read.error);
    read.onsuccess = () => {
      const seq = (Number.isSafeInteger(read.result) ? (read.result as number) : 0) + 1;
      meta.put(seq, SEQ);
      resolve(seq);
    };
  });
}
