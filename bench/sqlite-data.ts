// The ~1 KB document the SQLite benchmarks store, as a cuttle class and as the plain JSON a raw
// driver would write, so both sides store the same bytes.
import { Serializable } from '../dist/index.js';

/** A typical application document of about one kilobyte, plain JSON values only. */
export class BenchDoc extends Serializable {
  static override typeName = 'Doc';
  title = 'A document of about one kilobyte, as a typical application stores it';
  count = 42;
  ratio = 0.75;
  active = true;
  tags = ['alpha', 'beta', 'gamma', 'delta'];
  author = { name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'editor'] };
  items = Array.from({ length: 8 }, (_, i) => ({ sku: `SKU-${1000 + i}`, qty: i + 1, price: 9.99 + i, note: 'handle with care' }));
  body = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(6);

  constructor(id?: string, count = 42) {
    super(id);
    this.count = count;
  }
}

/** The document's data without the id, as a plain object. */
export function documentData(i: number): Record<string, unknown> {
  const { id: _id, ...data } = new BenchDoc('x', i);
  return data;
}

/** The JSON text of document `i`. */
export function documentJson(i: number): string {
  return JSON.stringify(documentData(i));
}
