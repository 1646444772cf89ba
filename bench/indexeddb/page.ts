// The IndexedDB bench's page (bench/indexeddb.bench.ts bundles it and runs it in Chromium):
// cuttle's IndexedDbBackend and a Store on it against raw IndexedDB code doing the least the same
// job needs (one put or get per transaction; a batch in one transaction), ~1.2 KB documents.
import { Serializable, Store } from '../../src/core.js';
import { IndexedDbBackend } from '../../src/indexeddb.js';
import { inTransaction, request } from '../../src/backends/indexeddb-requests.js';

interface Row {
  name: string;
  opsPerSec: number;
  spread: number;
}

class Doc extends Serializable {
  static override typeName = 'BenchDoc';
  title = '';
  body = '';
  when = new Date(0);
  tags: string[] = [];
}

const doc = (i: number) => Object.assign(new Doc(`d${i}`), { title: `document ${i}`, body: 'x'.repeat(1100), when: new Date(i), tags: ['a', 'b'] });

/** Calls `fn(i)` `ops` times per round, `rounds` times, after a warm-up; the median rate and the spread. */
async function measure(name: string, ops: number, rounds: number, fn: (i: number) => Promise<unknown>): Promise<Row> {
  for (let i = 0; i < Math.min(ops, 100); i++) await fn(i);
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    for (let i = 0; i < ops; i++) await fn(i);
    rates.push(ops / ((performance.now() - start) / 1000));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  return { name, opsPerSec: median, spread: (rates.at(-1)! - rates[0]!) / median };
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
  const content = JSON.stringify({ json: { title: 'document', body: 'x'.repeat(1100) } });
  const N = ops;
  const rawPut = (i: number) =>
    inTransaction(raw, ['objects'], 'readwrite', (tx) => void tx.objectStore('objects').put({ type: 'BenchDoc', id: `d${i % N}`, kind: 'object', content, version: 1, updatedAt: Date.now() }));
  const rawVersionedPut = (i: number) =>
    inTransaction(raw, ['objects'], 'readwrite', async (tx) => {
      const objects = tx.objectStore('objects');
      const previous = (await request(objects.get(['BenchDoc', `d${i % N}`]))) as { version: number } | undefined;
      objects.put({ type: 'BenchDoc', id: `d${i % N}`, kind: 'object', content, version: (previous?.version ?? 0) + 1, updatedAt: Date.now() });
    });
  const rawGet = (i: number) => inTransaction(raw, ['objects'], 'readonly', (tx) => request(tx.objectStore('objects').get(['BenchDoc', `d${i % N}`])));

  const writes = [
    await measure('raw IndexedDB put (one transaction each)', ops, rounds, rawPut),
    await measure('raw IndexedDB get + put (a versioned write)', ops, rounds, rawVersionedPut),
    await measure('IndexedDbBackend.write', ops, rounds, (i) => backend.write({ type: 'BenchDoc', id: `d${i % N}`, kind: 'object', content })),
    await measure('Store.save', ops, rounds, (i) => store.save(doc(i % N))),
  ];
  const reads = [
    await measure('raw IndexedDB get (one transaction each)', ops, rounds, rawGet),
    await measure('IndexedDbBackend.load', ops, rounds, (i) => backend.load('BenchDoc', `d${i % N}`)),
    await measure('Store.load, cache off', ops, rounds, (i) => store.load(Doc, `d${i % N}`, { cache: false })),
    await measure('Store.load, warm cache', ops * 20, rounds, (i) => store.load(Doc, `d${i % N}`)),
  ];
  const BATCH = 100;
  const batchOps = Math.max(1, Math.floor(ops / BATCH));
  const perRecord = (row: Row): Row => ({ ...row, opsPerSec: row.opsPerSec * BATCH });
  const batches = [
    perRecord(await measure(`raw IndexedDB: ${BATCH} puts in one transaction`, batchOps, rounds, (i) =>
      inTransaction(raw, ['objects'], 'readwrite', (tx) => {
        const objects = tx.objectStore('objects');
        for (let j = 0; j < BATCH; j++) objects.put({ type: 'BenchDoc', id: `b${(i * BATCH + j) % N}`, kind: 'object', content, version: 1, updatedAt: Date.now() });
      }),
    )),
    perRecord(await measure(`IndexedDbBackend.writeMany of ${BATCH}`, batchOps, rounds, (i) =>
      backend.writeMany(Array.from({ length: BATCH }, (_, j) => ({ type: 'BenchDoc', id: `b${(i * BATCH + j) % N}`, kind: 'object' as const, content }))),
    )),
    perRecord(await measure(`Store.saveMany of ${BATCH}`, batchOps, rounds, (i) => store.saveMany(Array.from({ length: BATCH }, (_, j) => doc(N + ((i * BATCH + j) % N)))))),
  ];
  raw.close();
  await store.close();
  return { writes, reads, batches };
}

(globalThis as unknown as { runBench: typeof run }).runBench = run;
