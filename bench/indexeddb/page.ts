// The IndexedDB bench's page (bench/indexeddb.bench.ts bundles it and runs it in Chromium):
// cuttle's IndexedDbBackend and a Store on it against raw IndexedDB code doing the least the same
// job needs (one put or get per transaction; a batch in one transaction), and against unstorage's
// IndexedDB driver (on idb-keyval) with superjson values, as a user keeping the Date would use it
// (the same pairing as the Node comparison's unstorage-memory-superjson), ~1.2 KB documents.
// The contenders of a group run in alternating rounds, so that the machine's noise falls on all.
import SuperJSON from 'superjson';
import { createStorage } from 'unstorage';
import indexedDbDriver from 'unstorage/drivers/indexedb';
import { Serializable, Store } from '../../src/core.js';
import { IndexedDbBackend } from '../../src/indexeddb.js';
import { inTransaction, request } from '../../src/backends/indexeddb-requests.js';

interface Row {
  name: string;
  opsPerSec: number;
  spread: number;
}

/** One contender: `fn(i)` is one operation; a round runs it `ops * scale` times; `per` records each. */
interface Contender {
  name: string;
  fn: (i: number) => Promise<unknown>;
  scale?: number;
  per?: number;
}

class Doc extends Serializable {
  static override typeName = 'BenchDoc';
  title = '';
  body = '';
  when = new Date(0);
  tags: string[] = [];
}

const data = (i: number) => ({ title: `document ${i}`, body: 'x'.repeat(1100), when: new Date(i), tags: ['a', 'b'] });
const doc = (i: number) => Object.assign(new Doc(`d${i}`), data(i));

/**
 * Warms every contender up, then runs `rounds` rounds, each running every contender once, in
 * turn; reports each one's median rate (records per second) and spread.
 */
async function compare(ops: number, rounds: number, contenders: Contender[]): Promise<Row[]> {
  for (const { fn } of contenders) for (let i = 0; i < Math.min(ops, 50); i++) await fn(i);
  const rates = contenders.map((): number[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [c, { fn, scale = 1, per = 1 }] of contenders.entries()) {
      const count = Math.max(1, Math.round(ops * scale));
      const start = performance.now();
      for (let i = 0; i < count; i++) await fn(round * count + i);
      rates[c]!.push((count * per) / ((performance.now() - start) / 1000));
    }
  }
  return contenders.map(({ name }, c) => {
    const sorted = rates[c]!.sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return { name, opsPerSec: median, spread: (sorted.at(-1)! - sorted[0]!) / median };
  });
}

function openRaw(name: string): Promise<IDBDatabase> {
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () => req.result.createObjectStore('objects', { keyPath: ['type', 'id'] });
  return request(req);
}

async function run({ ops, rounds }: { ops: number; rounds: number }): Promise<Record<string, Row[]>> {
  const stamp = Date.now().toString(36);
  const raw = await openRaw(`bench-raw-${stamp}`);
  const backend = new IndexedDbBackend({ name: `bench-cuttle-${stamp}` });
  const store = new Store({ backend });
  const unstorage = createStorage({ driver: indexedDbDriver({ dbName: `bench-unstorage-${stamp}`, storeName: 'keyval', base: 'docs' }) });
  const content = JSON.stringify({ json: data(0) });
  const N = 1000;
  const id = (i: number) => `d${i % N}`;
  const record = (key: string, version = 1) => ({ type: 'BenchDoc', id: key, kind: 'object', content, version, updatedAt: Date.now() });

  const writes = await compare(ops, rounds, [
    { name: 'raw IndexedDB put (one transaction each)', fn: (i) => inTransaction(raw, ['objects'], 'readwrite', (tx) => void tx.objectStore('objects').put(record(id(i)))) },
    {
      name: 'raw IndexedDB get + put (a versioned write)',
      fn: (i) =>
        inTransaction(raw, ['objects'], 'readwrite', async (tx) => {
          const objects = tx.objectStore('objects');
          const previous = (await request(objects.get(['BenchDoc', id(i)]))) as { version: number } | undefined;
          objects.put(record(id(i), (previous?.version ?? 0) + 1));
        }),
    },
    { name: 'IndexedDbBackend.write', fn: (i) => backend.write({ type: 'BenchDoc', id: id(i), kind: 'object', content }) },
    { name: 'Store.save', fn: (i) => store.save(doc(i % N)) },
    { name: 'unstorage indexedb + superjson setItem', fn: (i) => unstorage.setItemRaw(id(i), SuperJSON.stringify(data(i % N))) },
  ]);
  // Every id the reads ask for is stored, in each contender's database.
  const all = Array.from({ length: N }, (_, i) => i);
  await store.saveMany(all.map(doc));
  await inTransaction(raw, ['objects'], 'readwrite', (tx) => all.forEach((i) => tx.objectStore('objects').put(record(id(i)))));
  await unstorage.setItems(all.map((i) => ({ key: id(i), value: SuperJSON.stringify(data(i)) })));
  const reads = await compare(ops, rounds, [
    { name: 'raw IndexedDB get (one transaction each)', fn: (i) => inTransaction(raw, ['objects'], 'readonly', (tx) => request(tx.objectStore('objects').get(['BenchDoc', id(i)]))) },
    { name: 'IndexedDbBackend.load', fn: (i) => backend.load('BenchDoc', id(i)) },
    { name: 'Store.load, cache off', fn: (i) => store.load(Doc, id(i), { cache: false }) },
    { name: 'Store.load, warm cache', fn: (i) => store.load(Doc, id(i)), scale: 20 },
    { name: 'unstorage indexedb + superjson getItem', fn: async (i) => SuperJSON.parse((await unstorage.getItemRaw(id(i))) as string) },
  ]);
  const BATCH = 100;
  const batchKeys = (i: number) => Array.from({ length: BATCH }, (_, j) => `b${(i * BATCH + j) % N}`);
  const batches = await compare(ops, rounds, [
    {
      name: `raw IndexedDB: ${BATCH} puts in one transaction`,
      scale: 1 / BATCH,
      per: BATCH,
      fn: (i) =>
        inTransaction(raw, ['objects'], 'readwrite', (tx) => {
          const objects = tx.objectStore('objects');
          for (const key of batchKeys(i)) objects.put(record(key));
        }),
    },
    { name: `IndexedDbBackend.writeMany of ${BATCH}`, scale: 1 / BATCH, per: BATCH, fn: (i) => backend.writeMany(batchKeys(i).map((key) => ({ type: 'BenchDoc', id: key, kind: 'object' as const, content }))) },
    { name: `Store.saveMany of ${BATCH}`, scale: 1 / BATCH, per: BATCH, fn: (i) => store.saveMany(batchKeys(i).map((key, j) => Object.assign(new Doc(key), data(j)))) },
    { name: `unstorage indexedb + superjson setItems of ${BATCH}`, scale: 1 / BATCH, per: BATCH, fn: (i) => unstorage.setItems(batchKeys(i).map((key, j) => ({ key, value: SuperJSON.stringify(data(j)) }))) },
  ]);
  raw.close();
  await store.close();
  await unstorage.dispose();
  return { writes, reads, batches };
}

(globalThis as unknown as { runBench: typeof run }).runBench = run;
