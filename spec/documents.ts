// The classes the document specs (values, depth) store: a document holding one value, and one to embed in it.
import { Serializable } from '../src/index.js';

export class Doc extends Serializable {
  static override typeName = 'Doc';
  value: unknown;
}

export class Part extends Serializable {
  static override typeName = 'Part';
  value: unknown;
}
