// The one workload of the comparison harness: a ~1.3 KB application document with strings,
// numbers, a boolean, a Date, a nested object and arrays of objects. cuttle contenders store it
// as a `WorkDoc` instance; raw code and the other libraries store the same fields as a plain
// object. Everything here is built outside the timed loops.
import { Container, Serializable } from '../../dist/index.js';

/** The type name every contender files documents under (cuttle: `WorkDoc.typeName`). */
export const TYPE = 'Doc';
/** How many documents a container graph holds (graph save/load: the folder plus these). */
export const GRAPH_SIZE = 10;
/** The fixed epoch of the documents' dates, so runs store identical bytes. */
const EPOCH = Date.UTC(2024, 0, 1);

/** The fields of document `i`, as a plain object (`createdAt` a real Date). */
export interface DocData {
  title: string;
  count: number;
  ratio: number;
  active: boolean;
  createdAt: Date;
  tags: string[];
  author: { name: string; email: string; roles: string[] };
  items: { sku: string; qty: number; price: number; note: string }[];
  body: string;
}

/** Document `i`'s fields. */
export function docData(i: number): DocData {
  return {
    title: `Document ${i}: about one kilobyte, as a typical application stores it`,
    count: i,
    ratio: (i % 100) / 100,
    active: i % 2 === 0,
    createdAt: new Date(EPOCH + i * 1000),
    tags: ['alpha', 'beta', 'gamma', 'delta'],
    author: { name: 'Ada Lovelace', email: 'ada@example.com', roles: ['admin', 'editor'] },
    items: Array.from({ length: 8 }, (_, k) => ({ sku: `SKU-${1000 + k}`, qty: k + 1, price: 9.99 + k, note: 'handle with care' })),
    body: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(6),
  };
}

/** The id of document `i`: fixed width, so every contender's sorted order is numeric order. */
export function docId(i: number): string {
  return `doc-${String(i).padStart(8, '0')}`;
}

/** What hand-written code does after `JSON.parse`: turn the one Date field back into a Date. */
export function revive(data: Record<string, unknown>): DocData {
  data.createdAt = new Date(data.createdAt as string);
  return data as unknown as DocData;
}

/** The workload document as a cuttle class. */
export class WorkDoc extends Serializable {
  static override typeName = TYPE;
  declare title: string;
  declare count: number;
  declare ratio: number;
  declare active: boolean;
  declare createdAt: Date;
  declare tags: string[];
  declare author: DocData['author'];
  declare items: DocData['items'];
  declare body: string;

  constructor(id?: string, i = 0) {
    super(id);
    Object.assign(this, docData(i));
  }
}

/** A container of {@link GRAPH_SIZE} documents, for graph save/load. */
export class Folder extends Container {
  static override typeName = 'Folder';
  name = '';
  docs: WorkDoc[] = [];
}

/** The JSON text of document `i` as raw code stores it (the Date as an ISO string). */
export function docJson(i: number): string {
  return JSON.stringify(docData(i));
}
