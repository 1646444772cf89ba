// The SQLite ceiling: the fastest plain better-sqlite3 code doing the same work as cuttle's
// backend. A rowid table with a (type, id) primary key, WAL, synchronous=NORMAL, every statement
// prepared once, JSON text in and JSON.parse (+ the Date revived) out; lru-cache in front for
// warm loads, with the `type:id` key built per call as cuttle's cache does.
import Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Contender, Instance } from '../contender.js';
import { parseRawLine, rawLine, readLines, writeLines, writeRawDump } from '../ndjson.js';
import { docData, docId, GRAPH_SIZE, revive, TYPE, type DocData } from '../workload.js';

type Item = { id: string; data: DocData };

function openDb(path: string) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS docs (type TEXT NOT NULL, id TEXT NOT NULL, content TEXT NOT NULL, PRIMARY KEY (type, id))');
  const insert = db.prepare('INSERT OR REPLACE INTO docs (type, id, content) VALUES (?, ?, ?)');
  const batch = db.transaction((rows: [string, string][]) => {
    for (const [id, content] of rows) insert.run(TYPE, id, content);
  });
  return { db, insert, batch };
}

function openRawSqlite(dir: string): Instance {
  const { db, insert, batch } = openDb(join(dir, 'raw.db'));
  const select = db.prepare('SELECT content FROM docs WHERE type = ? AND id = ?').pluck();
  const exists = db.prepare('SELECT 1 FROM docs WHERE type = ? AND id = ?').pluck();
  const ids = db.prepare('SELECT id FROM docs WHERE type = ? ORDER BY id').pluck();
  const all = db.prepare('SELECT id, content FROM docs WHERE type = ? ORDER BY id').raw();
  const remove = db.prepare('DELETE FROM docs WHERE type = ? AND id = ?');
  const cache = new LRUCache<string, DocData>({ max: 10_000 });
  const load = (id: string): DocData => revive(JSON.parse(select.get(TYPE, id) as string));
  const writeMany = db.transaction((items: Item[]) => {
    for (const { id, data } of items) insert.run(TYPE, id, JSON.stringify(data));
  });
  return {
    async seed(n) {
      for (let start = 0; start < n; start += 10_000) {
        const rows: [string, string][] = [];
        for (let i = start; i < Math.min(n, start + 10_000); i++) rows.push([docId(i), JSON.stringify(docData(i))]);
        batch(rows);
      }
    },
    make: (i) => ({ id: docId(i), data: docData(i) }),
    save: (item) => insert.run(TYPE, (item as Item).id, JSON.stringify((item as Item).data)),
    saveMany: (items) => writeMany(items as Item[]),
    loadCold: load,
    async warm(warmIds) {
      for (const id of warmIds) cache.set(TYPE + ':' + id, load(id));
    },
    loadWarm: (id) => {
      const key = TYPE + ':' + id;
      let doc = cache.get(key);
      if (doc === undefined) cache.set(key, (doc = load(id)));
      return doc;
    },
    exists: (id) => exists.get(TYPE, id) !== undefined,
    list: async () => ({ count: ids.all(TYPE).length }),
    delete: (id) => remove.run(TYPE, id).changes > 0,
    exportAll: (path) => writeLines(path, (function* () {
      for (const [id, content] of all.iterate(TYPE) as Iterable<[string, string]>) yield rawLine(id, content);
    })()),
    prepareImport: writeRawDump,
    async importAll(path, target) {
      mkdirSync(target, { recursive: true });
      const { db: into, insert: put } = openDb(join(target, 'import.db'));
      let count = 0;
      // One transaction, as cuttle's SQLite import: BEGIN, the rows as they stream in, COMMIT.
      into.exec('BEGIN');
      for await (const line of readLines(path)) {
        const { id, content } = parseRawLine(line);
        put.run(TYPE, id, content);
        count++;
      }
      into.exec('COMMIT');
      into.close();
      return count;
    },
    makeGraph: (g, first) => ({ g, docs: Array.from({ length: GRAPH_SIZE }, (_, k) => ({ id: docId(first + k), data: docData(first + k) })) }),
    graphSave: (graph) => {
      const { g, docs } = graph as { g: number; docs: Item[] };
      writeMany([...docs, { id: `folder-${g}`, data: { name: `folder ${g}`, docs: docs.map((doc) => doc.id) } as never }]);
    },
    graphLoad: (g) => {
      const folder = JSON.parse(select.get(TYPE, `folder-${g}`) as string) as { docs: (string | DocData)[] };
      folder.docs = folder.docs.map((id) => load(id as string));
      return folder;
    },
    async close() {
      db.close();
    },
  };
}

export const rawSqlite: Contender = {
  key: 'raw-sqlite',
  name: 'raw better-sqlite3',
  family: 'sqlite',
  kind: 'raw',
  notes: 'ceiling for SQLite: rowid table + (type, id) key, WAL, synchronous=NORMAL, prepared statements, JSON text; lru-cache for warm loads',
  maxN: 1_000_000,
  importCap: 100_000,
  open: async (dir) => openRawSqlite(dir),
};
