// Container graphs over a backend with round trips: a folder of 200 notes loaded with the cache
// bypassed, through a test double that adds 1 ms to every call (bench/slow-backend.ts). Counts
// the calls and times the load: level by level, one loadMany per type and level.
//
//   npm run bench -- graph
import { Container, Serializable, Store } from '../dist/index.js';
import { machine, quick } from './harness.js';
import { SlowBackend } from './slow-backend.js';

class Note extends Serializable {
  title = '';
}
class Folder extends Container {
  notes: Note[] = [];
  sub?: Folder;
}

const NOTES = 200;
const rounds = quick ? 3 : 7;
console.log(`${machine()}; a Folder of ${NOTES} Notes (and a sub-folder of ${NOTES / 4} more), 1 ms per backend call`);

for (const [label, perId] of [['backend with loadMany (one call per type and level)', false], ['backend without loadMany (the default: loads in parallel)', true]] as const) {
  const backend = new SlowBackend({ latencyMs: 1, roundTripsPerId: perId });
  const store = new Store({ backend, cache: false });
  const sub = Object.assign(new Folder('sub'), { notes: Array.from({ length: NOTES / 4 }, (_, i) => Object.assign(new Note(`s${i}`), { title: `sub ${i}` })) });
  const folder = Object.assign(new Folder('inbox'), { notes: Array.from({ length: NOTES }, (_, i) => Object.assign(new Note(`n${i}`), { title: `note ${i}` })), sub });
  await store.save(folder);
  const times: number[] = [];
  let calls = 0;
  for (let round = 0; round < rounds; round++) {
    backend.calls.clear();
    const start = performance.now();
    const loaded = await store.load(Folder, 'inbox', { cache: false });
    times.push(performance.now() - start);
    if (loaded.notes.length !== NOTES || loaded.sub?.notes.length !== NOTES / 4) throw new Error('the graph did not load whole');
    calls = backend.total;
  }
  times.sort((a, b) => a - b);
  console.log(`  ${label.padEnd(58)} ${String(calls).padStart(4)} calls  ${times[Math.floor(times.length / 2)]!.toFixed(1).padStart(7)} ms (median of ${rounds})`);
  await store.close();
}
