// lowdb 7 with its JSON file adapter: the whole database lives in RAM (`db.data`), and every
// write rewrites the whole file (steno: temp file + rename, no fsync). Documents are kept by id
// in one object, the fastest way to find one. In RAM a Date stays a Date; in the file it is a
// string, and it comes back as one when the file is read again.
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { join } from 'node:path';
import type { Contender, Instance } from '../contender.js';
import { docData, docId, type DocData } from '../workload.js';

type Item = { id: string; data: DocData };
type Data = { docs: Record<string, DocData> };

async function openLowdb(dir: string): Promise<Instance> {
  const db = new Low<Data>(new JSONFile<Data>(join(dir, 'lowdb.json')), { docs: {} });
  await db.read();
  const docs = () => db.data.docs;
  let reread = false;
  return {
    async seed(n) {
      for (let i = 0; i < n; i++) docs()[docId(i)] = docData(i);
      await db.write();
    },
    make: (i) => ({ id: docId(i), data: docData(i) }),
    save: async (item) => {
      docs()[(item as Item).id] = (item as Item).data;
      await db.write();
    },
    saveMany: async (items) => {
      for (const { id, data } of items as Item[]) docs()[id] = data;
      await db.write();
    },
    // From RAM: the live object itself, as cuttle's warm cache returns it.
    loadWarm: (id) => docs()[id],
    exists: (id) => Object.hasOwn(docs(), id),
    // The first list (after beforeList) reads the file, as a process that opens the store must:
    // lowdb keeps nothing else on disk to list from. A list again reads RAM.
    list: async () => {
      if (reread) {
        await db.read();
        reread = false;
      }
      return { count: Object.keys(docs()).sort().length };
    },
    async beforeList() {
      reread = true;
    },
    delete: async (id) => {
      delete docs()[id];
      await db.write();
    },
    async close() {},
  };
}

export const lowdb: Contender = {
  key: 'lowdb',
  name: 'lowdb (JSON file)',
  family: 'files',
  kind: 'peer',
  notes: 'lowdb 7 JSONFile: everything in RAM, each write rewrites the whole file (temp + rename, no fsync); the first list reads the file (db.read()), as opening it does; Dates are strings after a reload; no export/import or graphs',
  maxN: 100_000,
  open: openLowdb,
};
