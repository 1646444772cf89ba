// cuttle itself, through the public Store API: memory, file (durable and not) and SQLite (cache on
// and off). Every store has the default cache (10,000 objects) unless it says otherwise: `cache:
// false`, or the "all in RAM" stores, whose cache holds every document (what a user sets up to
// keep a whole collection in memory, as lowdb and nedb always do).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Codec } from '../../../dist/codec.js';
import { encodeId } from '../../../dist/backends/file-names.js';
import { formatRecord } from '../../../dist/backends/file-records.js';
import { FileBackend, InMemoryBackend, SqliteBackend, Store, TypeRegistry, type StorageBackend } from '../../../dist/index.js';
import type { Contender, Family, Instance } from '../contender.js';
import { docId, Folder, GRAPH_SIZE, TYPE, WorkDoc } from '../workload.js';

const SEED_CHUNK = 10_000;

interface Kind {
  /** A backend in `dir`; `seeding`: the one documents are seeded through. */
  backend(dir: string, seeding: boolean): StorageBackend;
  /** Seeds by writing the backend's own files directly, when that is much faster (not measured). */
  seedDirect?(dir: string, n: number): void;
}

/** The stored content of each document, exactly as the codec encodes it. */
function encoder(): (i: number) => string {
  const registry = new TypeRegistry();
  const codec = new Codec(registry);
  const info = registry.register(WorkDoc);
  return (i) => codec.encode(new WorkDoc(docId(i), i), info);
}

/** How a cuttle contender caches: the default cache, none, or one holding every document. */
type Caching = 'default' | 'none' | 'all';

function openCuttle(kind: Kind, dir: string, caching: Caching, maxN: number): Instance {
  const cache = caching !== 'none';
  const store = new Store({ backend: kind.backend(dir, false), ...(caching === 'none' ? { cache: false } : caching === 'all' ? { cache: { max: maxN } } : {}) });
  const cold = cache ? { cache: false } : undefined;
  let imports = 0;
  let seeded = 0;
  return {
    async seed(n) {
      seeded = n;
      if (kind.seedDirect) return kind.seedDirect(dir, n);
      const encode = encoder();
      const backend = store.backend;
      for (let start = 0; start < n; start += SEED_CHUNK) {
        const writes = [];
        for (let i = start; i < Math.min(n, start + SEED_CHUNK); i++) writes.push({ type: TYPE, id: docId(i), kind: 'object' as const, content: encode(i) });
        await backend.writeMany(writes);
      }
    },
    make: (i) => new WorkDoc(docId(i), i),
    save: (doc) => store.save(doc as WorkDoc),
    saveMany: (docs) => store.saveMany(docs as WorkDoc[]),
    loadCold: (id) => store.load(WorkDoc, id, cold),
    ...(cache
      ? {
          async warm(ids: string[]) {
            // All in RAM: every stored document is loaded, not only the warm set the loads draw from.
            if (caching === 'all') ids = Array.from({ length: seeded }, (_, i) => docId(i));
            for (const id of ids) await store.load(WorkDoc, id);
          },
          // All in RAM: read the cache synchronously, as lowdb and nedb read RAM, falling back to
          // a load (never taken once warm). Otherwise the asynchronous load every caller has.
          loadWarm: caching === 'all' ? (id: string) => store.cache.peek(WorkDoc, id) ?? store.load(WorkDoc, id) : (id: string) => store.load(WorkDoc, id),
        }
      : {}),
    exists: caching === 'all' ? (id) => store.cache.has(WorkDoc, id) || store.exists(WorkDoc, id) : (id) => store.exists(WorkDoc, id),
    list: async () => ({ count: (await store.list(WorkDoc)).length }),
    // The first list reads the backend: an empty cache keeps no id list (as after another
    // process's change, or in a new process).
    async beforeList() {
      store.cache.clear();
    },
    delete: (id) => store.delete(WorkDoc, id),
    exportAll: async (path) => (await store.exportTo(path)).count,
    async prepareImport(path, count) {
      // Any backend's dump imports into any other: make it in memory.
      const source = new Store({ backend: new InMemoryBackend(), cache: false });
      const encode = encoder();
      const writes = [];
      for (let i = 0; i < count; i++) writes.push({ type: TYPE, id: docId(i), kind: 'object' as const, content: encode(i) });
      await source.backend.writeMany(writes);
      await source.exportTo(path);
      await source.close();
    },
    async importAll(path, target) {
      const into = new Store({ backend: kind.backend(join(target, `import-${imports++}`), false), cache: false });
      const { count } = await into.importFrom(path);
      await into.close();
      return count;
    },
    makeGraph: (g, first) => Object.assign(new Folder(`folder-${g}`), {
      name: `folder ${g}`,
      docs: Array.from({ length: GRAPH_SIZE }, (_, k) => new WorkDoc(docId(first + k), first + k)),
    }),
    graphSave: (folder) => store.save(folder as Folder),
    graphLoad: (g) => store.load(Folder, `folder-${g}`, { cache: false }),
    close: () => store.close(),
  };
}

const memoryKind: Kind = { backend: () => new InMemoryBackend() };
const sqliteKind: Kind = { backend: (dir) => new SqliteBackend({ path: join(dir, 'cuttle.db') }) };
function fileKind(durable: boolean): Kind {
  return {
    backend: (dir) => new FileBackend({ path: join(dir, 'cuttle-files'), durable }),
    // The backend's exact file format, written synchronously: through putMany a 100k seed takes
    // about a minute, and seeding is not what is measured.
    seedDirect(dir, n) {
      const folder = join(dir, 'cuttle-files', TYPE);
      mkdirSync(folder, { recursive: true });
      const encode = encoder();
      const updatedAt = Date.now();
      for (let i = 0; i < n; i++) {
        const id = docId(i);
        writeFileSync(join(folder, encodeId(id) + '.json'), formatRecord({ type: TYPE, id, kind: 'object', content: encode(i), version: 1, updatedAt }));
      }
    },
  };
}

function cuttle(key: string, name: string, family: Family, kind: Kind, caching: Caching, maxN: number, notes: string, importCap?: number): Contender {
  return { key, name, family, kind: 'cuttle', notes, maxN, ...(importCap ? { importCap } : {}), open: async (dir) => {
    mkdirSync(dir, { recursive: true });
    return openCuttle(kind, dir, caching, maxN);
  } };
}

export const cuttleMemory = cuttle('cuttle-memory', 'cuttle memory', 'memory', memoryKind, 'default', 1_000_000, 'InMemoryBackend: serialized records in a Map; default cache', 100_000);
export const cuttleFile = cuttle('cuttle-file', 'cuttle file, durable', 'files-durable', fileKind(true), 'default', 100_000, 'FileBackend durable: true (2 fsyncs per save); default cache', 10_000);
export const cuttleFileFast = cuttle('cuttle-file-nosync', 'cuttle file, durable: false', 'files', fileKind(false), 'default', 100_000, 'FileBackend durable: false (no fsync; atomic rename); default cache', 10_000);
export const cuttleFileRam = cuttle('cuttle-file-ram', 'cuttle file, durable: false, all in RAM', 'files', fileKind(false), 'all', 100_000, 'FileBackend durable: false; cache: { max: 100,000 }, every document loaded into it before the warm loads (as lowdb and nedb hold everything in RAM)', 10_000);
export const cuttleSqlite = cuttle('cuttle-sqlite', 'cuttle SQLite', 'sqlite', sqliteKind, 'default', 1_000_000, 'SqliteBackend (WAL, synchronous=NORMAL); default cache', 100_000);
export const cuttleSqliteRam = cuttle('cuttle-sqlite-ram', 'cuttle SQLite, all in RAM', 'sqlite', sqliteKind, 'all', 100_000, 'SqliteBackend; cache: { max: 100,000 }, every document loaded into it before the warm loads (as lowdb and nedb hold everything in RAM)', 100_000);
export const cuttleSqliteNoCache = cuttle('cuttle-sqlite-nocache', 'cuttle SQLite, cache: false', 'sqlite', sqliteKind, 'none', 100_000, 'SqliteBackend with cache: false', 100_000);
