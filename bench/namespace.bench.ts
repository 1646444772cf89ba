// What a namespace view costs: the NamespacedBackend every Store reads and writes through (the
// default namespace's view too) against calling the backend itself, on a backend that does nothing
// (NullBackend: the wrapper's own cost, as large as it can show) and on SQLite (:memory:, where it
// is lost in the backend's work). One process, no contention.
//
//   npm run bench -- namespace [--quick]
import { loadavg } from 'node:os';
import { SqliteBackend } from '../dist/backends/sqlite.js';
import { NamespacedBackend, type RecordWrite, type StorageBackend } from '../dist/index.js';
import { machine, measure, quick, report, type Measurement } from './harness.js';
import { NullBackend } from './null-backend.js';

const ops = quick ? 20_000 : 100_000;
console.log(`${machine()}; load average at start: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);

const write: RecordWrite = { type: 'Doc', id: 'a', kind: 'object', content: '{"json":{"text":"hello"}}' };

/** A write and a load of one record, through `backend`. */
async function rows(backend: StorageBackend, label: string): Promise<Measurement[]> {
  await backend.write(write);
  return [
    await measure(`${label}: write`, ops, () => backend.write(write)),
    await measure(`${label}: load`, ops, () => backend.load('Doc', 'a')),
  ];
}

for (const [title, make] of [
  ['NullBackend', () => new NullBackend({ ...write, version: 1, updatedAt: 0 })],
  ['SQLite :memory:', () => new SqliteBackend({ path: ':memory:' })],
] as const) {
  const inner = make();
  const measured = [
    ...(await rows(inner, 'the backend itself')),
    ...(await rows(new NamespacedBackend(inner, ''), "the default namespace's view")),
    ...(await rows(new NamespacedBackend(inner, 'billing'), 'the view of namespace billing')),
  ];
  report(`${title}, write`, measured.filter((row) => row.name.endsWith('write')), 'the backend itself: write');
  report(`${title}, load`, measured.filter((row) => row.name.endsWith('load')), 'the backend itself: load');
  await inner.close();
}
