// What the codec's plain-JSON fast path saves over superjson, on a ~1 KB document without rich
// types, on one with a Date and a Map, and on the comparison harness's workload document (one
// Date); then where a save and a load of the workload document spend their time: superjson's
// serialize walk, the JSON text, and the Store around the codec on a backend that does nothing.
//
//   npm run bench -- codec [--quick]
import SuperJSON from 'superjson';
import { Codec } from '../dist/codec.js';
import { Store, TypeRegistry, type StoredRecord } from '../dist/index.js';
import { docData, WorkDoc } from './compare/workload.js';
import { NullBackend } from './null-backend.js';
import { BenchDoc } from './sqlite-data.js';
import { machine, measure, quick, report } from './harness.js';

/** The plain document with a Date and a Map added. */
class RichDoc extends BenchDoc {
  when = new Date('2024-05-06T07:08:09Z');
  index = new Map([['a', 1], ['b', 2]]);
}

const ops = quick ? 20_000 : 100_000;
console.log(machine());

const cases = [
  ['plain ~1 KB document', new BenchDoc('d')],
  ['document with a Date and a Map', new RichDoc('r')],
  ['the comparison workload (one Date)', new WorkDoc('w', 7)],
] as const;
for (const [label, doc] of cases) {
  // A registry of its own: BenchDoc and the workload's class are both named "Doc".
  const registry = new TypeRegistry();
  const codec = new Codec(registry);
  const info = registry.register(doc.constructor as never);
  const content = codec.encode(doc, info);
  const data = { ...doc };
  const sjText = SuperJSON.stringify(data);
  const jsonText = JSON.stringify(data);
  console.log(`\n${label}: ${content.length} bytes stored`);
  report(`encode (${label})`, [
    await measure('JSON.stringify', ops, () => JSON.stringify(data)),
    await measure('cuttle codec.encode', ops, () => codec.encode(doc, info)),
    await measure('superjson.serialize (the walk only)', ops, () => SuperJSON.serialize(data)),
    await measure('superjson.stringify', ops, () => SuperJSON.stringify(data)),
  ], 'JSON.stringify');
  report(`decode (${label})`, [
    await measure('JSON.parse', ops, () => JSON.parse(jsonText)),
    await measure('cuttle codec.decode', ops, () => codec.decode(content, info, 'd')),
    await measure('superjson.parse', ops, () => SuperJSON.parse(sjText)),
  ], 'JSON.parse');
}

// The Store around the codec, on a backend that does nothing, with the workload document.
const registry = new TypeRegistry();
const codec = new Codec(registry);
const info = registry.register(WorkDoc);
const sample = new WorkDoc('doc-sample', 7);
const sampleContent = codec.encode(sample, info);
const RECORD: StoredRecord = { type: 'Doc', id: 'doc-sample', kind: 'object', content: sampleContent, version: 1, updatedAt: 0 };
const cold = new Store({ backend: new NullBackend(RECORD), cache: false });
const warm = new Store({ backend: new NullBackend(RECORD) });
await warm.load(WorkDoc, 'doc-sample');
const plain = docData(7);
const rows = [
  await measure('JSON.stringify of the fields', ops, () => JSON.stringify(plain)),
  await measure('codec.encode', ops, () => codec.encode(sample, info)),
  await measure('Store.save, cache: false', ops, () => cold.save(sample)),
  await measure('Store.save, with cache', ops, () => warm.save(sample)),
  await measure('codec.decode', ops, () => codec.decode(sampleContent, info, 'doc-sample')),
  await measure('Store.load, cache: false', ops, () => cold.load(WorkDoc, 'doc-sample')),
  await measure('Store.load, warm cache', ops * 10, () => warm.load(WorkDoc, 'doc-sample')),
];
report('the workload document on a backend that does nothing (ops/s)', rows);
console.log('\nmicroseconds per call');
for (const row of rows) console.log(`  ${row.name.padEnd(42)} ${(1e6 / row.opsPerSec).toFixed(2).padStart(8)} µs`);
