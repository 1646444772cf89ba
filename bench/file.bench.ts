// FileBackend: listing and counting 100,000 objects of a type (names only, never contents) against
// a bare fs.readdir of the folder; loads and saves of a ~1 KB document against a bare
// fs.readFile/fs.writeFile (no lock, no atomic rename, no fsync); pollChanges(), the check the
// cache makes once per event-loop turn. `--quick`: 20,000 objects and fewer rounds.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackend } from '../dist/backends/file.js';
import type { StoredRecord } from '../dist/backends/backend.js';
import { machine, measure, quick, report } from './harness.js';

const count = quick ? 20_000 : 100_000;
const root = mkdtempSync(join(tmpdir(), 'cuttle-file-bench-'));
const content = JSON.stringify({ json: { title: 'A document of about one kilobyte', body: 'Lorem ipsum dolor sit amet. '.repeat(34) } });
console.log(machine());
console.log(`root: ${root}; ${count.toLocaleString('en')} objects of ~${content.length} bytes`);

try {
  const backend = new FileBackend({ path: root, durable: false });
  const ids = Array.from({ length: count }, () => randomUUID());
  const record = (type: string, id: string): StoredRecord => ({ type, id, kind: 'object', content, version: 1, updatedAt: Date.now() });

  let start = performance.now();
  await backend.putMany(ids.map((id) => record('Doc', id)));
  const putSeconds = (performance.now() - start) / 1000;
  console.log(`setup: putMany of ${count.toLocaleString('en')} (durable: false) took ${putSeconds.toFixed(1)} s, ${Math.round(count / putSeconds).toLocaleString('en')} objects/s`);
  // Ids that all need escaping (upper case, ':' and '/', non-ASCII): the slow path of decoding.
  const escaped = Array.from({ length: count / 10 }, (_, i) => `User:${i}/Ärger`);
  await backend.putMany(escaped.map((id) => record('Escaped', id)));

  const folder = join(root, 'Doc');
  const rounds = quick ? 3 : 7;
  const listing = [
    await measure('fs.readdir (names only)', 1, () => readdir(folder), rounds),
    await measure(`list (${count.toLocaleString('en')} ids, sorted)`, 1, () => backend.list('Doc'), rounds),
    await measure(`count (${count.toLocaleString('en')} ids)`, 1, () => backend.count('Doc'), rounds),
    await measure(`list (${escaped.length.toLocaleString('en')} escaped ids)`, 1, () => backend.list('Escaped'), rounds),
    await measure('listTypes', 1, () => backend.listTypes(), rounds),
  ];
  report('listing: calls/s (1000 / ms per call)', listing, 'fs.readdir (names only)');
  for (const row of listing) console.log(`  ${row.name.padEnd(42)} ${(1000 / row.opsPerSec).toFixed(1).padStart(8)} ms per call`);

  const ops = quick ? 500 : 2000;
  const path = (i: number) => join(folder, `${ids[i % count]}.json`);
  report('loads of ~1 KB (ops/s)', [
    await measure('fs.readFile', ops, (i) => readFile(path(i), 'utf8')),
    await measure('FileBackend.load', ops, (i) => backend.load('Doc', ids[i % count]!)),
  ], 'fs.readFile');

  const raw = join(root, '.bare'); // not a type name: the bare writes stay out of the store
  mkdirSync(raw);
  const durable = new FileBackend({ path: root, durable: true });
  report('saves of ~1 KB, rewriting existing objects (ops/s)', [
    await measure('fs.writeFile (in place, not atomic)', ops, (i) => writeFile(join(raw, `${i % count}.json`), content)),
    await measure('write, durable: false', ops, (i) => backend.write({ type: 'Doc', id: ids[i % count]!, kind: 'object', content })),
    await measure('write, durable: true (2 fsyncs)', quick ? 50 : 200, (i) => durable.write({ type: 'Doc', id: ids[i % count]!, kind: 'object', content }), rounds),
  ], 'fs.writeFile (in place, not atomic)');

  backend.changes(() => {});
  report('cache coherence check (calls/s)', [await measure('pollChanges() with no change (one stat)', 100_000, () => backend.pollChanges())]);

  start = performance.now();
  let exported = 0;
  for await (const _ of backend.records()) exported++;
  const exportSeconds = (performance.now() - start) / 1000;
  console.log(`\nrecords() (the export) of ${exported.toLocaleString('en')} objects: ${exportSeconds.toFixed(1)} s, ${Math.round(exported / exportSeconds).toLocaleString('en')} records/s`);
  await durable.close();
  await backend.close();
} finally {
  rmSync(root, { recursive: true, force: true });
}
