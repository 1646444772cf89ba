/**
 * Imports into IndexedDB, staged. An IndexedDB transaction commits by itself as soon as it has no
 * request pending when the event loop idles, and reading a dump (a `File`'s stream, a fetch)
 * waits on other I/O, so an import cannot read its source inside one transaction. It runs in two
 * phases instead:
 * 1. **Staging**: records are read from the source and written, in chunks of {@link CHUNK}, one
 *    transaction per chunk, to the `staging` store under a token of this import. `objects` is not
 *    touched. A failure here (a bad record, the source throwing) deletes what was staged.
 * 2. **Swap**: one transaction over `objects`, `staging` and `meta` clears `objects` (for
 *    `replace`), moves every staged record of the token into `objects` and bumps the sequence
 *    number. It only issues requests from its own callbacks, so it stays one transaction: the
 *    import appears all at once, or (on an abort: quota exceeded, the tab closed) not at all.
 * Staged rows of an import whose tab died between the phases are swept when a backend opens,
 * once a day old (the token starts with its time).
 * @module
 */
import type { StoredRecord } from './backend.js';
import { eachValue, inTransaction } from './indexeddb-requests.js';
import { META, nextSeq, OBJECTS, STAGING } from './indexeddb-schema.js';

/** Records per staging transaction. */
export const CHUNK = 500;
/** Staged rows older than this (ms) belong to an import that died: swept at open. */
export const STALE_STAGING = 24 * 60 * 60 * 1000;

interface StagedRecord extends StoredRecord {
  readonly token: string;
}

/** A token that sorts by time (base 36, fixed width), then a random part. */
function tokenAt(time: number): string {
  return time.toString(36).padStart(10, '0');
}

/**
 * Imports `records` into `db` in the two phases above.
 * @returns how many records were imported and the sequence number of the swap.
 */
export async function stagedImport(db: IDBDatabase, records: AsyncIterable<StoredRecord>, replace: boolean): Promise<{ count: number; seq: number }> {
  const token = `${tokenAt(Date.now())}-${Math.random().toString(36).slice(2)}`;
  const range = IDBKeyRange.bound([token], [token, []]);
  let count = 0;
  try {
    let chunk: StagedRecord[] = [];
    const flush = async () => {
      const rows = chunk;
      chunk = [];
      await inTransaction(db, [STAGING], 'readwrite', (tx) => {
        const staging = tx.objectStore(STAGING);
        for (const row of rows) staging.put(row);
      });
    };
    for await (const record of records) {
      chunk.push({ ...record, token });
      count++;
      if (chunk.length >= CHUNK) await flush();
    }
    if (chunk.length > 0) await flush();
    const seq = await inTransaction(db, [OBJECTS, STAGING, META], 'readwrite', async (tx) => {
      const objects = tx.objectStore(OBJECTS);
      if (replace) objects.clear();
      const next = nextSeq(tx);
      next.catch(() => {}); // fails with the transaction, which reports it
      await eachValue<StagedRecord>(tx.objectStore(STAGING), range, ({ token: _, ...record }, cursor) => {
        objects.put(record);
        cursor.delete();
      });
      return next;
    });
    return { count, seq };
  } catch (error) {
    await inTransaction(db, [STAGING], 'readwrite', (tx) => void tx.objectStore(STAGING).delete(range)).catch(() => {});
    throw error;
  }
}

/** Deletes the staged rows of imports that began before `now - STALE_STAGING`. */
export async function sweepStaging(db: IDBDatabase, now: number): Promise<void> {
  await inTransaction(db, [STAGING], 'readwrite', (tx) => void tx.objectStore(STAGING).delete(IDBKeyRange.upperBound([tokenAt(now - STALE_STAGING)])));
}
