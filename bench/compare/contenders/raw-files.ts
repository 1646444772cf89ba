// The file ceilings: one JSON file per document, written the way an atomic file store must: a
// temp file in the same folder, renamed over the target. `durable`: the temp file is fsynced
// before the rename and the folder after it (cuttle's durable: true does the same two fsyncs);
// otherwise no fsync, to compare with writers that do not fsync. The fastest plain code: every
// step synchronous (microseconds from the page cache, where an asynchronous fs call costs a
// thread-pool round trip) except the fsyncs, which wait for the disk; no locks, no version
// numbers, no change counter: the least a file store can do.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LRUCache } from 'lru-cache';
import type { Contender, Instance } from '../contender.js';
import { parseRawLine, rawLine, readLines, writeLines, writeRawDump } from '../ndjson.js';
import { docData, docId, GRAPH_SIZE, revive, type DocData } from '../workload.js';

type Item = { id: string; data: DocData };
const PARALLEL = 16;
const fsyncAsync = promisify(fsync);

async function fsyncPath(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    await fsyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}

function openRawFiles(dir: string, durable: boolean): Instance {
  const root = join(dir, 'raw-files');
  mkdirSync(root, { recursive: true });
  const file = (id: string) => join(root, id + '.json');

  async function put(folder: string, id: string, text: string): Promise<void> {
    const temp = join(folder, `.${randomBytes(6).toString('hex')}.tmp`);
    const fd = openSync(temp, 'w');
    try {
      writeFileSync(fd, text);
      if (durable) await fsyncAsync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, join(folder, id + '.json'));
    if (durable) await fsyncPath(folder);
  }
  const load = (id: string): DocData => revive(JSON.parse(readFileSync(file(id), 'utf8')));
  const inParallel = async <T>(items: T[], fn: (item: T) => Promise<void>) => {
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }));
  };
  const cache = new LRUCache<string, DocData>({ max: 10_000 });
  const names = () => readdirSync(root).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -5)).sort();

  return {
    async seed(n) {
      // Not measured: plain synchronous writes of the same bytes.
      for (let i = 0; i < n; i++) writeFileSync(file(docId(i)), JSON.stringify(docData(i)));
    },
    make: (i) => ({ id: docId(i), data: docData(i) }),
    save: (item) => put(root, (item as Item).id, JSON.stringify((item as Item).data)),
    saveMany: (items) => inParallel(items as Item[], ({ id, data }) => put(root, id, JSON.stringify(data))),
    loadCold: load,
    async warm(ids) {
      for (const id of ids) cache.set('Doc:' + id, load(id));
    },
    loadWarm: (id) => {
      const key = 'Doc:' + id;
      let doc = cache.get(key);
      if (doc === undefined) cache.set(key, (doc = load(id)));
      return doc;
    },
    exists: (id) => existsSync(file(id)),
    list: async () => ({ count: names().length }),
    delete: async (id) => {
      unlinkSync(file(id));
      if (durable) await fsyncPath(root);
    },
    exportAll: (path) => writeLines(path, (function* () {
      for (const id of names()) yield rawLine(id, readFileSync(file(id), 'utf8'));
    })()),
    prepareImport: writeRawDump,
    async importAll(path, target) {
      const folder = join(target, 'import');
      mkdirSync(folder, { recursive: true });
      let count = 0;
      let pending: Promise<void>[] = [];
      for await (const line of readLines(path)) {
        const { id, content } = parseRawLine(line);
        pending.push(put(folder, id, content));
        count++;
        if (pending.length >= PARALLEL) {
          await Promise.all(pending);
          pending = [];
        }
      }
      await Promise.all(pending);
      return count;
    },
    makeGraph: (g, first) => ({ g, docs: Array.from({ length: GRAPH_SIZE }, (_, k) => ({ id: docId(first + k), data: docData(first + k) })) }),
    graphSave: async (graph) => {
      const { g, docs } = graph as { g: number; docs: Item[] };
      const all = [...docs, { id: `folder-${g}`, data: { name: `folder ${g}`, docs: docs.map((doc) => doc.id) } as never }];
      await Promise.all(all.map(({ id, data }) => put(root, id, JSON.stringify(data))));
    },
    graphLoad: async (g) => {
      const folder = JSON.parse(readFileSync(file(`folder-${g}`), 'utf8')) as { docs: (string | DocData)[] };
      folder.docs = folder.docs.map((id) => load(id as string));
      return folder;
    },
    async close() {},
  };
}

export const rawFilesDurable: Contender = {
  key: 'raw-files-fsync',
  name: 'raw files, fsync',
  family: 'files-durable',
  kind: 'raw',
  notes: 'ceiling for durable file stores: temp file, fsync, rename, fsync folder; synchronous calls but for the fsyncs; lru-cache for warm loads',
  maxN: 100_000,
  importCap: 10_000,
  open: async (dir) => openRawFiles(dir, true),
};

export const rawFiles: Contender = {
  key: 'raw-files',
  name: 'raw files, no fsync',
  family: 'files',
  kind: 'raw',
  notes: 'ceiling for non-durable file stores: temp file, rename, no fsync; synchronous calls; lru-cache for warm loads',
  maxN: 100_000,
  importCap: 10_000,
  open: async (dir) => openRawFiles(dir, false),
};
