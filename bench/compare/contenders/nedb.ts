// @seald-io/nedb: every document in RAM with an _id index; each write appends a line to the data
// file (no fsync), and the file is compacted on load. Loads return deep copies; Dates survive.
import NedbModule from '@seald-io/nedb';
import { join } from 'node:path';
import type { Contender, Instance } from '../contender.js';
import { docData, docId, type DocData } from '../workload.js';

type Item = { id: string; data: DocData };
// A CommonJS module whose types declare an ES default export: at run time the import is the class.
const Datastore = NedbModule as unknown as typeof NedbModule.default;

async function openNedb(dir: string): Promise<Instance> {
  const db = new Datastore<DocData & { _id: string }>({ filename: join(dir, 'nedb.db') });
  await db.loadDatabaseAsync();
  let reload = false;
  return {
    async seed(n) {
      for (let start = 0; start < n; start += 10_000) {
        const docs = [];
        for (let i = start; i < Math.min(n, start + 10_000); i++) docs.push({ _id: docId(i), ...docData(i) });
        await db.insertAsync(docs);
      }
    },
    make: (i) => ({ id: docId(i), data: docData(i) }),
    save: (item) => db.insertAsync({ _id: (item as Item).id, ...(item as Item).data }),
    saveMany: (items) => db.insertAsync((items as Item[]).map(({ id, data }) => ({ _id: id, ...data }))),
    // From RAM (a deep copy of the indexed document). nedb's queries are lazy cursors: awaiting
    // one runs it.
    loadWarm: async (id) => await db.findOneAsync({ _id: id }),
    exists: async (id) => (await db.countAsync({ _id: id })) > 0,
    // The first list (after beforeList) loads the data file, as a process that opens the store
    // must; a list again reads RAM.
    list: async () => {
      if (reload) {
        await db.loadDatabaseAsync();
        reload = false;
      }
      return { count: (await db.findAsync({}, { _id: 1 })).map((doc: { _id: string }) => doc._id).sort().length };
    },
    async beforeList() {
      reload = true;
    },
    delete: (id) => db.removeAsync({ _id: id }, {}),
    async close() {},
  };
}

export const nedb: Contender = {
  key: 'nedb',
  name: '@seald-io/nedb',
  family: 'files',
  kind: 'peer',
  notes: '@seald-io/nedb 4.1: everything in RAM, each write appends to the data file (no fsync); the first list loads the data file (loadDatabase), as opening it does; Dates survive; no export/import or graphs',
  maxN: 100_000,
  open: openNedb,
};
