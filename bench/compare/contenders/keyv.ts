// keyv + @keyv/sqlite with their defaults (SQLite's rollback journal, synchronous=FULL; the
// sqlite3 driver, asynchronous). keyv stores JSON: a Date comes back as a string.
import KeyvSqlite from '@keyv/sqlite';
import Database from 'better-sqlite3';
import Keyv from 'keyv';
import { join } from 'node:path';
import type { Contender, Instance } from '../contender.js';
import { docData, docId, type DocData } from '../workload.js';

type Item = { id: string; data: DocData };

async function openKeyv(dir: string): Promise<Instance> {
  const path = join(dir, 'keyv.db');
  const keyv = new Keyv({ store: new KeyvSqlite({ uri: `sqlite://${path}` }) });
  await keyv.get('warm-up'); // creates the table
  return {
    async seed(n) {
      // Not measured: keyv's own rows (its key prefix, its serializer), one transaction per
      // 10,000, written with better-sqlite3; through keyv.set a 100k seed takes minutes.
      const db = new Database(path);
      const insert = db.prepare('INSERT INTO keyv (key, value) VALUES (?, ?)');
      for (let start = 0; start < n; start += 10_000) {
        const rows: [string, string][] = [];
        for (let i = start; i < Math.min(n, start + 10_000); i++) {
          rows.push([`keyv:${docId(i)}`, (await keyv.serializeData({ value: docData(i), expires: undefined })) as string]);
        }
        db.transaction(() => rows.forEach((row) => insert.run(...row)))();
      }
      db.close();
    },
    make: (i) => ({ id: docId(i), data: docData(i) }),
    save: (item) => keyv.set((item as Item).id, (item as Item).data),
    // keyv.setMany: @keyv/sqlite has no batch write, so keyv runs the sets concurrently, each its
    // own transaction.
    saveMany: (items) => keyv.setMany((items as Item[]).map(({ id, data }) => ({ key: id, value: data }))),
    loadCold: (id) => keyv.get(id),
    exists: (id) => keyv.has(id),
    async list(deadline) {
      const ids: string[] = [];
      for await (const [key] of keyv.iterator!(undefined)) {
        ids.push(key as string);
        if ((ids.length & 255) === 0 && performance.now() > deadline) return { count: ids.length, partial: true };
      }
      ids.sort();
      return { count: ids.length };
    },
    delete: (id) => keyv.delete(id),
    close: () => keyv.disconnect(),
  };
}

export const keyv: Contender = {
  key: 'keyv-sqlite',
  name: 'keyv + @keyv/sqlite',
  family: 'sqlite',
  kind: 'peer',
  notes: 'keyv 5.6 + @keyv/sqlite 4.0: rollback journal, synchronous=FULL (durable per save); Dates come back as strings; no cache; no export/import or graphs',
  maxN: 100_000,
  open: openKeyv,
};
