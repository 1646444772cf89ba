/**
 * What a document may hold (docs/guide.md, "What a document may hold"): the check that refuses at
 * save, before anything is written, every value that would not load back as it was saved.
 * @module
 */
import { InvalidValueError } from './errors.js';
import { describeKey, propertySegment } from './references.js';
import { binaryName, errorProperties, isBuiltInError } from './value-forms.js';

/** Where an embedded object's document is: in which record, at what path. */
export interface Within {
  /** The record: the object being saved. */
  readonly type: string;
  readonly id: string;
  /** The embedded object's path in the record's document. */
  readonly path: string;
}

/** What {@link checkDocument} needs to know of the document. */
export interface DocumentCheck {
  /** The type name and id of the object whose document it is. */
  readonly type: string;
  readonly id: string;
  /** Where the document is embedded; absent for a record's own document. */
  readonly within: Within | undefined;
  /** Whether `value` is a stored object (a Serializable): embedded or referenced, and checked on its own. */
  isStored(value: object): boolean;
  /** Told of each stored object in the document (`where` says where, if asked). */
  stored(obj: object, where: () => Within): void;
}

/**
 * Walks `data` as superjson will (each object once), without recursion, and throws
 * {@link InvalidValueError} at the first value that would not load back as it is, naming the type,
 * id and property path. Stored objects are not entered: they are passed to `check.stored`.
 */
export function checkDocument(data: unknown, check: DocumentCheck): void {
  new DocumentWalk(check).run(data);
}

const enum Kind {
  Object,
  Array,
  Map,
  Set,
  Error,
}

/** An object being walked. Its children are read from it when reached: nothing is copied for plain objects and arrays. */
interface Frame {
  readonly node: object;
  readonly kind: Kind;
  /** An object's keys; an Error's properties. */
  readonly keys: string[] | undefined;
  /** A Map's keys and values (k0, v0, k1, ...); a Set's members; an Error's cause. */
  readonly items: unknown[] | undefined;
  readonly count: number;
  next: number;
}

class DocumentWalk {
  readonly #check: DocumentCheck;
  /** Objects walked or being walked: superjson, too, writes each once (then as a reference). */
  readonly #seen = new Set<object>();
  readonly #stack: Frame[] = [];

  constructor(check: DocumentCheck) {
    this.#check = check;
  }

  run(data: unknown): void {
    const stack = this.#stack;
    this.#visit(data);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next < frame.count) this.#visit(this.#child(frame, frame.next++));
      else stack.pop();
    }
  }

  /** Checks `value`; pushes a frame for a value whose contents are to be walked. */
  #visit(value: unknown): void {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return;
    if (typeof value === 'symbol') {
      return this.#refuse(`holds a Symbol (${String(value)}), which cuttle cannot store: a symbol is unique to the process that made it; store a string instead`);
    }
    if (typeof value === 'function') {
      const name = value.name ? ` (${value.name})` : '';
      return this.#refuse(
        `holds a function${name}, which cuttle cannot store: code is not data (only function-valued properties of the object itself are skipped, as methods); store what it computes instead`,
      );
    }
    if (this.#seen.has(value)) return;
    this.#seen.add(value);
    if (this.#check.isStored(value)) {
      this.#check.stored(value, () => {
        const { type, id } = this.#check.within ?? this.#check;
        return { type, id, path: this.#path() };
      });
      return;
    }
    const proto: object | null = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const keys = Object.keys(value);
      // Symbol keys are not looked at: they are not part of a document (see the guide).
      for (const key of keys) this.#checkKey(key);
      return this.#push(value, Kind.Object, keys, undefined, keys.length);
    }
    if (proto === Array.prototype) {
      const array = value as unknown[];
      for (let i = 0; i < array.length; i++) {
        if (!(i in array)) {
          this.#refuse(`holds a sparse array (nothing at [${i}]), which cuttle cannot store: JSON has no holes, so [${i}] would load as null; fill the holes (with undefined or null)`);
        }
      }
      return this.#push(value, Kind.Array, undefined, undefined, array.length);
    }
    if (proto === Map.prototype) {
      const items: unknown[] = [];
      for (const [key, child] of value as Map<unknown, unknown>) items.push(key, child);
      return this.#push(value, Kind.Map, undefined, items, items.length);
    }
    if (proto === Set.prototype) {
      const items = [...(value as Set<unknown>)];
      return this.#push(value, Kind.Set, undefined, items, items.length);
    }
    if (proto === Date.prototype || proto === RegExp.prototype || (proto === URL_PROTOTYPE && proto !== undefined)) return;
    if (binaryName(value) !== undefined) return;
    if (isBuiltInError(value)) {
      const keys = errorProperties(value);
      for (const key of keys) this.#checkKey(key);
      const items = Object.hasOwn(value, 'cause') ? [value.cause] : [];
      return this.#push(value, Kind.Error, keys, items, items.length + keys.length);
    }
    return this.#refuse(`holds ${unstorable(value, proto, this.#check.type)}`);
  }

  #push(node: object, kind: Kind, keys: string[] | undefined, items: unknown[] | undefined, count: number): void {
    this.#stack.push({ node, kind, keys, items, count, next: 0 });
  }

  /** Child `i` of `frame`. */
  #child(frame: Frame, i: number): unknown {
    switch (frame.kind) {
      case Kind.Object:
        return (frame.node as Record<string, unknown>)[frame.keys![i]!];
      case Kind.Array:
        return (frame.node as unknown[])[i];
      case Kind.Map:
      case Kind.Set:
        return frame.items![i];
      case Kind.Error: {
        const causes = frame.items!.length;
        return i < causes ? frame.items![i] : (frame.node as unknown as Record<string, unknown>)[frame.keys![i - causes]!];
      }
    }
  }

  /** The path of child `i` of `frame`, as a segment: `.name`, `[3]`, `.get("k")`, ... */
  #segment(frame: Frame, i: number, first: boolean): string {
    switch (frame.kind) {
      case Kind.Object:
        return propertySegment(frame.keys![i]!, first);
      case Kind.Array:
        return `[${i}]`;
      case Kind.Map:
        return i % 2 === 0 ? `.keys()[${i / 2}]` : `.get(${describeKey(frame.items![i - 1])})`;
      case Kind.Set:
        return `.values()[${i}]`;
      case Kind.Error: {
        const causes = frame.items!.length;
        return i < causes ? '.cause' : propertySegment(frame.keys![i - causes]!, false);
      }
    }
  }

  /** The path of the value being looked at, from the record's root. */
  #path(): string {
    const within = this.#check.within;
    let path = within?.path ?? '';
    const stack = this.#stack;
    for (let depth = 0; depth < stack.length; depth++) {
      path += this.#segment(stack[depth]!, stack[depth]!.next - 1, depth === 0 && within === undefined);
    }
    return path;
  }

  #checkKey(key: string): void {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      this.#refuse(
        `has a key named ${JSON.stringify(key)}, which cuttle cannot store in a document that also holds values JSON cannot express ` +
          `(a Map, Set, BigInt, undefined, a shared object, ... anywhere in it): superjson, which writes those, refuses such keys; rename the key`,
      );
    }
  }

  /** Refuses the value being looked at, naming the record (and the embedded object holding it, if any) and its path. */
  #refuse(what: string): never {
    const { type, id, within } = this.#check;
    const path = this.#path();
    const holder = within === undefined ? '' : ` (in the embedded ${type} ${JSON.stringify(id)})`;
    const record = within ?? this.#check;
    throw new InvalidValueError(`${record.type} ${JSON.stringify(record.id)}: ${path || 'the document'}${holder} ${what}`, { type: record.type, id: record.id, path });
  }
}

const URL_PROTOTYPE = typeof URL === 'function' ? URL.prototype : undefined;

/** Why `value`, of prototype `proto`, in a document of `type`, cannot be stored, and what to store instead. */
function unstorable(value: object, proto: object | null, type: string): string {
  if (value instanceof WeakMap) return 'a WeakMap, which cuttle cannot store: its entries cannot be listed; use a Map';
  if (value instanceof WeakSet) return 'a WeakSet, which cuttle cannot store: its members cannot be listed; use a Set';
  if (typeof WeakRef === 'function' && value instanceof WeakRef) return 'a WeakRef, which cuttle cannot store: store the object it refers to (deref()) instead';
  if (typeof FinalizationRegistry === 'function' && value instanceof FinalizationRegistry) return 'a FinalizationRegistry, which cuttle cannot store: it holds no data';
  if (value instanceof Promise) return 'a Promise, which cuttle cannot store: it is not a value yet; await it and store its result';
  if (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer) {
    return 'a SharedArrayBuffer, which cuttle cannot store: a loaded copy would be shared with no one; copy it into an ArrayBuffer or a Uint8Array';
  }
  const name = className(proto);
  if (value instanceof Error) {
    return `an instance of ${name}, a subclass of Error, which cuttle cannot store: it would load back as a plain Error; store a built-in Error (Error, TypeError, RangeError, ...) or its fields instead`;
  }
  if (name === 'Object') return 'an object from another realm (its Object is not this one\'s), which cuttle cannot store as it is; copy it into a plain object ({ ...value })';
  return (
    `an instance of ${name}, which cuttle cannot store: it is not a Serializable, so it would load back as a plain object without its class; ` +
    `make ${name} extend Serializable (stored by value where it is), or give ${type} toStorage() and static fromStorage() that store it as plain data`
  );
}

function className(proto: object | null): string {
  const Class: unknown = proto !== null && Object.hasOwn(proto, 'constructor') ? (proto as { constructor: unknown }).constructor : undefined;
  return typeof Class === 'function' && Class.name ? Class.name : 'a class without a name';
}
