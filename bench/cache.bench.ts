// The object cache on SQLite, with cross-process coherence on: warm loads against cold loads in
// the same run, the cost of the per-iteration outside-change check, lru-cache in front of raw
// better-sqlite3 as the ceiling, and hit rates for Zipf-distributed ids with a cache smaller than
// the data. Targets: warm >= 1M loads/s and >= 10x cold.
//
//   npm run bench -- cache [--quick]
import Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteBackend } from '../dist/backends/sqlite.js';
import { Store } from '../dist/index.js';
import { machine, measure, quick, report } from './harness.js';
import { BenchDoc } from './sqlite-data.js';

const n = quick ? 10_000 : 100_000;
const ops = quick ? 200_000 : 1_000_000;
const dir = mkdtempSync(join(tmpdir(), 'cuttle-cache-bench-'));
console.log(`${machine()}; ${n.toLocaleString('en')} documents of ~1 KB in SQLite`);

try {
  const path = join(dir, 'cache.db');
  const ids = Array.from({ length: n }, (_, i) => `doc-${i}`);
  const seed = new Store({ backend: new SqliteBackend({ path }), cache: false });
  for (let i = 0; i < n; i += 5000) await seed.saveMany(ids.slice(i, i + 5000).map((id, j) => new BenchDoc(id, i + j)));
  await seed.close();

  // Random ids chosen before the clock starts.
  const random = Array.from({ length: ops }, () => ids[Math.floor(Math.random() * n)]!);
  const store = new Store({ backend: new SqliteBackend({ path }), cache: { max: n } });
  for (const id of ids) await store.load(BenchDoc, id); // warm every entry

  const raw = new Database(path, { readonly: true });
  const select = raw.prepare('SELECT content FROM objects WHERE type = ? AND id = ?').pluck();
  const lru = new LRUCache<string, object>({ max: n });
  for (const id of ids) lru.set('Doc:' + id, JSON.parse(select.get('Doc', id) as string));

  const rows = [
    await measure('lru-cache + raw better-sqlite3 (warm)', ops, (i) => {
      const key = 'Doc:' + random[i]!;
      return lru.get(key) ?? JSON.parse(select.get('Doc', random[i]!) as string);
    }),
    await measure('cuttle Store.load, warm cache', ops, (i) => store.load(BenchDoc, random[i]!)),
    await measure('cuttle Store.load, cache bypassed (cold)', Math.min(ops, 100_000), (i) => store.load(BenchDoc, random[i]!, { cache: false })),
  ];
  report('load by random id (the check for outside changes runs once per event-loop iteration)', rows, 'cuttle Store.load, cache bypassed (cold)');
  const warm = rows[1]!.opsPerSec;
  const cold = rows[2]!.opsPerSec;
  console.log(`  warm/cold: ${(warm / cold).toFixed(1)}x (target >= 10x); warm ${(warm / 1e6).toFixed(2)}M/s (target >= 1M/s)`);

  // What one outside-change check costs: a load alone in its own event-loop iteration pays it.
  const turns = quick ? 20_000 : 100_000;
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
  const perTurn = async (withLoad: boolean) => {
    const start = performance.now();
    for (let i = 0; i < turns; i++) {
      await nextTurn();
      if (withLoad) await store.load(BenchDoc, random[i]!);
    }
    return (performance.now() - start) / turns;
  };
  const empty = await perTurn(false);
  const withLoad = await perTurn(true);
  console.log(`\n  one warm load in its own event-loop iteration (pays one outside-change check): ${((withLoad - empty) * 1000).toFixed(2)} µs over an empty iteration (${(empty * 1000).toFixed(2)} µs)`);

  // Zipf-like popularity: id rank r is drawn with probability proportional to 1 / r^s.
  console.log('\n  hit rate for Zipf-distributed loads, cache of 10% of the data:');
  for (const s of [0.8, 1.0, 1.2]) {
    const zipf = zipfSampler(n, s);
    const small = new Store({ backend: new SqliteBackend({ path }), cache: { max: Math.floor(n / 10) } });
    const sample = quick ? 50_000 : 300_000;
    for (let i = 0; i < sample; i++) await small.load(BenchDoc, ids[zipf()]!);
    const stats = small.cache.stats();
    console.log(`    s = ${s.toFixed(1)}: hit rate ${(stats.hitRate * 100).toFixed(1)}% over ${sample.toLocaleString('en')} loads (${stats.evictions.toLocaleString('en')} evictions)`);
    await small.close();
  }
  await store.close();
  raw.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Draws ranks 0..n-1 with P(r) ∝ 1/(r+1)^s, by binary search over the cumulative weights. */
function zipfSampler(n: number, s: number): () => number {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cumulative[r] = sum += 1 / Math.pow(r + 1, s);
  return () => {
    const x = Math.random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
