// unstorage 1.17 with its fs driver (one file per key, written in place: no temp file, no fsync)
// and its memory driver (a Map of JSON text). Values go through JSON.stringify and come back
// through destr: a Date comes back as a string. snapshot/restoreSnapshot are its export/import.
// The "superjson" variant is what a user does to keep the Date a Date, as cuttle does: the value
// goes in as superjson text and comes out through superjson.parse.
import SuperJSON from 'superjson';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createStorage, restoreSnapshot, snapshot, type Driver, type Storage, type StorageValue } from 'unstorage';
import fsDriver from 'unstorage/drivers/fs';
import memoryDriver from 'unstorage/drivers/memory';
import type { Contender, Instance } from '../contender.js';
import { docData, docId, type DocData } from '../workload.js';

type Item = { id: string; data: DocData };
const BASE = 'docs';

/** How documents go into unstorage and come back out. */
interface Values {
  write(data: DocData): StorageValue;
  read(storage: Storage, key: string): Promise<unknown>;
}

/** unstorage's own way: JSON values, read back through destr (a Date comes back a string). */
const JSON_VALUES: Values = { write: (data) => data, read: (storage, key) => storage.getItem(key) };

/** superjson text, so that documents come back with their Dates. */
const SUPERJSON_VALUES: Values = {
  write: (data) => SuperJSON.stringify(data),
  read: async (storage, key) => {
    const text = await storage.getItemRaw<string>(key);
    return text === null ? null : SuperJSON.parse<DocData>(text);
  },
};

function openUnstorage(dir: string, driver: (dir: string) => Driver, values: Values, seedFiles?: string): Instance {
  const storage: Storage = createStorage({ driver: driver(dir) });
  const key = (id: string) => `${BASE}:${id}`;
  let imports = 0;
  return {
    async seed(n) {
      if (seedFiles) {
        // Not measured: the driver's own files (JSON text at <base>/docs/<id>), written directly.
        const folder = join(dir, seedFiles, BASE);
        mkdirSync(folder, { recursive: true });
        for (let i = 0; i < n; i++) writeFileSync(join(folder, docId(i)), JSON.stringify(docData(i)));
        return;
      }
      for (let start = 0; start < n; start += 10_000) {
        const items = [];
        for (let i = start; i < Math.min(n, start + 10_000); i++) items.push({ key: key(docId(i)), value: values.write(docData(i)) });
        await storage.setItems(items);
      }
    },
    make: (i) => ({ id: docId(i), data: docData(i) }),
    save: (item) => storage.setItem(key((item as Item).id), values.write((item as Item).data)),
    saveMany: (items) => storage.setItems((items as Item[]).map(({ id, data }) => ({ key: key(id), value: values.write(data) }))),
    loadCold: (id) => values.read(storage, key(id)),
    exists: (id) => storage.hasItem(key(id)),
    list: async () => ({ count: (await storage.getKeys(BASE)).map((k) => k.slice(BASE.length + 1)).sort().length }),
    delete: (id) => storage.removeItem(key(id)),
    async exportAll(path) {
      const all = await snapshot(storage, BASE);
      await writeFile(path, JSON.stringify(all));
      return Object.keys(all).length;
    },
    async prepareImport(path, count) {
      const all: Record<string, DocData> = {};
      for (let i = 0; i < count; i++) all[docId(i)] = docData(i);
      await writeFile(path, JSON.stringify(all));
    },
    async importAll(path, target) {
      const into = createStorage({ driver: driver(join(target, `import-${imports++}`)) });
      const all = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
      await restoreSnapshot(into, all, BASE);
      await into.dispose();
      return Object.keys(all).length;
    },
    close: () => storage.dispose(),
  };
}

export const unstorageFs: Contender = {
  key: 'unstorage-fs',
  name: 'unstorage fs driver',
  family: 'files',
  kind: 'peer',
  notes: 'unstorage 1.17 fs driver: a file per key written in place (not atomic, no fsync); Dates come back as strings; no cache; no graphs',
  maxN: 100_000,
  importCap: 10_000,
  open: async (dir) => openUnstorage(dir, (base) => fsDriver({ base: join(base, 'unstorage') }), JSON_VALUES, 'unstorage'),
};

export const unstorageMemory: Contender = {
  key: 'unstorage-memory',
  name: 'unstorage memory driver',
  family: 'memory',
  kind: 'peer',
  notes: 'unstorage 1.17 memory driver: a Map of JSON text; Dates come back as strings; no graphs',
  maxN: 1_000_000,
  importCap: 100_000,
  open: async (dir) => openUnstorage(dir, () => memoryDriver(), JSON_VALUES),
};

export const unstorageMemorySuperjson: Contender = {
  key: 'unstorage-memory-superjson',
  name: 'unstorage memory driver + superjson',
  family: 'memory',
  kind: 'peer',
  notes: 'unstorage 1.17 memory driver holding superjson text (SuperJSON.stringify in, SuperJSON.parse out): Dates survive, as in cuttle; no export/import or graphs',
  maxN: 1_000_000,
  open: async (dir) => {
    // No export/import: its snapshot would hold superjson text, not the dump plain unstorage makes.
    const { exportAll, prepareImport, importAll, ...rest } = openUnstorage(dir, () => memoryDriver(), SUPERJSON_VALUES);
    return rest;
  },
};
