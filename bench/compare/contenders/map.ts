// The memory ceiling: a JS Map of JSON text (what InMemoryBackend keeps: serialized records, so a
// save cannot alias the caller's object), JSON.parse + the Date revived on a cold load, and a Map
// of live objects for warm loads.
import type { Contender, Instance } from '../contender.js';
import { readLines, writeLines, rawLine, parseRawLine, writeRawDump } from '../ndjson.js';
import { docData, docId, GRAPH_SIZE, revive, type DocData } from '../workload.js';

type Item = { id: string; data: DocData };

function openMap(): Instance {
  let texts = new Map<string, string>();
  const live = new Map<string, DocData>();
  const folders = new Map<number, string[]>();
  const instance: Instance = {
    async seed(n) {
      for (let i = 0; i < n; i++) texts.set(docId(i), JSON.stringify(docData(i)));
    },
    make: (i) => ({ id: docId(i), data: docData(i) }),
    save: (item) => void texts.set((item as Item).id, JSON.stringify((item as Item).data)),
    saveMany: (items) => {
      for (const { id, data } of items as Item[]) texts.set(id, JSON.stringify(data));
    },
    loadCold: (id) => revive(JSON.parse(texts.get(id)!)),
    async warm(ids) {
      for (const id of ids) live.set(id, revive(JSON.parse(texts.get(id)!)));
    },
    loadWarm: (id) => live.get(id),
    exists: (id) => texts.has(id),
    list: async () => ({ count: [...texts.keys()].sort().length }),
    delete: (id) => texts.delete(id),
    exportAll: (path) => writeLines(path, (function* () {
      for (const id of [...texts.keys()].sort()) yield rawLine(id, texts.get(id)!);
    })()),
    prepareImport: writeRawDump,
    async importAll(path) {
      const target = new Map<string, string>();
      for await (const line of readLines(path)) {
        const { id, content } = parseRawLine(line);
        target.set(id, content);
      }
      return target.size;
    },
    makeGraph: (g, first) => ({ g, docs: Array.from({ length: GRAPH_SIZE }, (_, k) => ({ id: docId(first + k), data: docData(first + k) })) }),
    graphSave: (graph) => {
      const { g, docs } = graph as { g: number; docs: Item[] };
      const ids = docs.map((doc) => doc.id);
      for (const { id, data } of docs) texts.set(id, JSON.stringify(data));
      texts.set(`folder-${g}`, JSON.stringify({ name: `folder ${g}`, docs: ids }));
      folders.set(g, ids);
    },
    graphLoad: (g) => {
      const folder = JSON.parse(texts.get(`folder-${g}`)!) as { docs: (string | DocData)[] };
      folder.docs = folder.docs.map((id) => revive(JSON.parse(texts.get(id as string)!)));
      return folder;
    },
    async close() {
      texts = new Map();
    },
  };
  return instance;
}

export const map: Contender = {
  key: 'map',
  name: 'raw JS Map',
  family: 'memory',
  kind: 'raw',
  notes: 'ceiling for memory stores: Map of JSON text (cold), Map of live objects (warm)',
  maxN: 1_000_000,
  open: async () => openMap(),
};
