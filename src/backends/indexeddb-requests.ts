/**
 * IndexedDB's callbacks as promises, for the IndexedDB backend. A transaction commits by itself
 * once it has no request pending when the event loop idles, so the body given to
 * {@link inTransaction} may await only requests of its own transaction (their promises settle in
 * the request's event, while the transaction is still active), never a timer or another I/O.
 * @module
 */

/** The result of `request`, once its `success` event fires; its error once `error` does. */
export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Runs `body` in one transaction over `stores` and resolves with its result once the transaction
 * has committed. A throw in `body` aborts it: nothing of it is stored. @throws the body's error, or
 * the transaction's (a quota exceeded, a failed constraint).
 */
export async function inTransaction<T>(
  db: IDBDatabase,
  stores: string[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => Promise<T> | T,
): Promise<T> {
  const tx = db.transaction(stores, mode);
  const done = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new DOMException('The transaction was aborted', 'AbortError'));
  });
  let result: T;
  try {
    result = await body(tx);
  } catch (error) {
    done.catch(() => {});
    try {
      tx.abort();
    } catch {
      // Already finished (it aborted by itself on the failed request).
    }
    throw error;
  }
  await done;
  return result;
}

/**
 * Calls `each` with every value of `source` in `range`, in key order, inside the request's own
 * callbacks (so that `each` may issue further requests on the same transaction); `each` may
 * return `false` to stop. Resolves when the cursor is done.
 */
export function eachValue<T>(source: IDBObjectStore, range: IDBKeyRange, each: (value: T, cursor: IDBCursorWithValue) => boolean | void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = source.openCursor(range);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const cursor = req.result;
      if (cursor === null) return resolve();
      try {
        if (each(cursor.value as T, cursor) === false) return resolve();
      } catch (error) {
        return reject(error);
      }
      cursor.continue();
    };
  });
}

/** Opens (creating or upgrading) database `name` at `version`, `upgrade` creating its stores. */
export function openDatabase(
  factory: IDBFactory,
  name: string,
  version: number,
  upgrade: (db: IDBDatabase, oldVersion: number) => void,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, version);
    req.onupgradeneeded = (event) => upgrade(req.result, event.oldVersion);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => {
      // Another tab holds an older version open; it is asked to close (its `versionchange`), and
      // the open goes on once it has.
    };
  });
}
