// What the codec's plain-JSON fast path saves over superjson, on a ~1 KB document without rich
// types and on one with a Date and a Map.
import SuperJSON from 'superjson';
import { Codec } from '../src/codec.js';
import { Serializable, TypeRegistry } from '../src/index.js';
import { machine, measure, quick, report } from './harness.js';

class Doc extends Serializable {
  title = 'A document of about one kilobyte, as a typical application stores it';
  count = 42;
  ratio = 0.75;
  active = true;
  tags = ['alpha', 'beta', 'gamma', 'delta'];
  author = { name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'editor'] };
  items = Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i + 1, price: 9.99 + i, note: 'handle with care' }));
  body = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(6);
}
class RichDoc extends Doc {
  when = new Date('2024-05-06T07:08:09Z');
  index = new Map([['a', 1], ['b', 2]]);
}

const registry = new TypeRegistry();
const codec = new Codec(registry);
const ops = quick ? 20_000 : 100_000;
console.log(machine());

for (const [label, doc] of [['plain ~1 KB document', new Doc('d')], ['document with a Date and a Map', new RichDoc('r')]] as const) {
  const info = registry.register(doc.constructor as never);
  const content = codec.encode(doc, info);
  const data = { ...doc };
  const sjText = SuperJSON.stringify(data);
  const jsonText = JSON.stringify(data);
  console.log(`\n${label}: ${content.length} bytes stored`);
  report(`encode (${label})`, [
    await measure('JSON.stringify', ops, () => JSON.stringify(data)),
    await measure('cuttle codec.encode', ops, () => codec.encode(doc, info)),
    await measure('superjson.stringify', ops, () => SuperJSON.stringify(data)),
  ], 'JSON.stringify');
  report(`decode (${label})`, [
    await measure('JSON.parse', ops, () => JSON.parse(jsonText)),
    await measure('cuttle codec.decode', ops, () => codec.decode(content, info, 'd')),
    await measure('superjson.parse', ops, () => SuperJSON.parse(sjText)),
  ], 'JSON.parse');
}
