/**
 * What a document may hold (docs/guide.md, "What a document may hold"): the check that refuses at
 * save, before anything is written, every value that would not load back as it was saved, and the
 * one nesting limit that save and import share.
 * @module
 */
import { InvalidValueError } from './errors.js';
import { describeKey, propertySegment } from './references.js';
import { binaryName, errorProperties, isBuiltInError } from './value-forms.js';

/**
 * The deepest a document may nest, in levels of its stored JSON. Each object, array and Set is a
 * level, a Map two (superjson writes it as a list of [key, value] pairs); an embedded object's
 * document takes the place of the embedded object in its parent's, so its levels count from there.
 *
 * Why 1,000: superjson's walk overflows the stack of Node's main thread near 1,500 levels of a
 * document that needs it (3,100 for plain JSON, which skips it), so the limit leaves that walk a
 * third of the stack for the caller's own frames; it is ten times MongoDB's 100, and a structure
 * deeper than that (a long chain, a tree of unbounded depth) belongs in Containers, where each
 * object is its own record and depth has no limit.
 */
export const MAX_DEPTH = 1000;

/** The message of the error a document deeper than {@link MAX_DEPTH} gets, at save and at import. */
export function tooDeepMessage(type: string, id: string): string {
  return (
    `${type} ${JSON.stringify(id)} nests deeper than ${MAX_DEPTH} levels, the most cuttle stores in one document ` +
    `(objects, arrays and Sets count one level, Maps two, an embedded object's document counts within its parent's); ` +
    `keep deeper structures in Containers, where each object is a record of its own`
  );
}

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
  /** The levels of JSON a stored object in the document spans where it is (`where` says where, if asked). */
  stored(obj: object, where: () => Within): number;
}

/**
 * Walks `data` the way superjson will write it (a shared object written at each place, a cycle
 * closed by null), without recursion, and throws {@link InvalidValueError} at the first value that
 * would not load back as it is (naming the type, id and property path) or at the first level
 * deeper than {@link MAX_DEPTH}. Stored objects are not entered: `check.stored` says how deep each goes.
 * @returns how many levels of JSON the document nests.
 */
export function checkDocument(data: unknown, check: DocumentCheck): number {
  return new DocumentWalk(check).run(data);
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
  readonly level: number;
  /** Levels between the parent and this node in the JSON: 1, or 2 inside a Map. */
  readonly offset: number;
  /** An object's keys; an Error's properties. */
  readonly keys: string[] | undefined;
  /** A Map's keys and values (k0, v0, k1, ...); a Set's members; an Error's cause. */
  readonly items: unknown[] | undefined;
  readonly count: number;
  next: number;
  /** How many levels of JSON this node spans, as far as walked. */
  span: number;
}

/** Marks an object being walked in {@link DocumentWalk}'s spans: reaching it again is a cycle. */
const OPEN = -1;

class DocumentWalk {
  readonly #check: DocumentCheck;
  /** Objects walked (with the levels each spans, as a shared one reached again spans as many) or being walked (OPEN). */
  readonly #spans = new Map<object, number>();
  readonly #stack: Frame[] = [];

  constructor(check: DocumentCheck) {
    this.#check = check;
  }

  run(data: unknown): number {
    const stack = this.#stack;
    let depth = this.#visit(data, 1, 0);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next < frame.count) {
        const i = frame.next++;
        const offset = childOffset(frame, i);
        const span = this.#visit(this.#child(frame, i), frame.level + offset, offset);
        if (span > frame.span - offset) frame.span = span + offset;
        continue;
      }
      stack.pop();
      this.#spans.set(frame.node, frame.span);
      const parent = stack[stack.length - 1];
      if (parent === undefined) depth = frame.span;
      else if (frame.span > parent.span - frame.offset) parent.span = frame.span + frame.offset;
    }
    return depth;
  }

  /** The levels `value` spans at `level`; 0 for a value to be walked, whose frame is pushed (its span reaches the parent when it is done). */
  #visit(value: unknown, level: number, offset: number): number {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')) return 0;
    if (typeof value === 'symbol') {
      return this.#refuse(`holds a Symbol (${String(value)}), which cuttle cannot store: a symbol is unique to the process that made it; store a string instead`);
    }
    if (typeof value === 'function') {
      const name = value.name ? ` (${value.name})` : '';
      return this.#refuse(
        `holds a function${name}, which cuttle cannot store: code is not data (only function-valued properties of the object itself are skipped, as methods); store what it computes instead`,
      );
    }
    const span = this.#spans.get(value);
    if (span === OPEN) return 0;
    if (span !== undefined) {
      // Written again in full here: it reaches as many levels below this place.
      if (level + span - 1 > MAX_DEPTH) this.#tooDeep();
      return span;
    }
    if (this.#check.isStored(value)) {
      const stored = this.#check.stored(value, () => {
        const { type, id } = this.#check.within ?? this.#check;
        return { type, id, path: this.#path() };
      });
      if (level + stored - 1 > MAX_DEPTH) this.#tooDeep();
      return stored;
    }
    const proto: object | null = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      const keys = Object.keys(value);
      // Symbol keys are not looked at: they are not part of a document (see the guide).
      for (const key of keys) this.#checkKey(key);
      return this.#push(value, Kind.Object, level, offset, keys, undefined, keys.length, 1);
    }
    if (proto === Array.prototype) {
      const array = value as unknown[];
      for (let i = 0; i < array.length; i++) {
        if (!(i in array)) {
          this.#refuse(`holds a sparse array (nothing at [${i}]), which cuttle cannot store: JSON has no holes, so [${i}] would load as null; fill the holes (with undefined or null)`);
        }
      }
      return this.#push(value, Kind.Array, level, offset, undefined, undefined, array.length, 1);
    }
    if (proto === Map.prototype) {
      const items: unknown[] = [];
      for (const [key, child] of value as Map<unknown, unknown>) items.push(key, child);
      return this.#push(value, Kind.Map, level, offset, undefined, items, items.length, items.length > 0 ? 2 : 1);
    }
    if (proto === Set.prototype) {
      const items = [...(value as Set<unknown>)];
      return this.#push(value, Kind.Set, level, offset, undefined, items, items.length, 1);
    }
    // Written as strings: no level.
    if (proto === Date.prototype || proto === RegExp.prototype || (proto === URL_PROTOTYPE && proto !== undefined)) return 0;
    if (binaryName(value) !== undefined) {
      if (level > MAX_DEPTH) this.#tooDeep();
      return 1;
    }
    if (isBuiltInError(value)) {
      const keys = errorProperties(value);
      for (const key of keys) this.#checkKey(key);
      const items = Object.hasOwn(value, 'cause') ? [value.cause] : [];
      return this.#push(value, Kind.Error, level, offset, keys, items, items.length + keys.length, keys.length > 0 ? 2 : 1);
    }
    return this.#refuse(`holds ${unstorable(value, proto, this.#check.type)}`);
  }

  #push(node: object, kind: Kind, level: number, offset: number, keys: string[] | undefined, items: unknown[] | undefined, count: number, span: number): 0 {
    // A Map's pairs (an Error's properties object) are a level below it even when they hold no object.
    if (level + span - 1 > MAX_DEPTH) this.#tooDeep();
    this.#spans.set(node, OPEN);
    this.#stack.push({ node, kind, level, offset, keys, items, count, next: 0, span });
    return 0;
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

  /** The path of the value being looked at, from the record's root; at most `segments` segments here, then an ellipsis. */
  #path(segments = Infinity): string {
    const within = this.#check.within;
    let path = within?.path ?? '';
    const stack = this.#stack;
    for (let depth = 0; depth < stack.length; depth++) {
      if (depth === segments) return path + '…';
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

  #tooDeep(): never {
    const { type, id } = this.#check.within ?? this.#check;
    // A path past the limit has over a thousand segments: its start says where.
    throw new InvalidValueError(tooDeepMessage(type, id), { type, id, path: this.#path(12) });
  }
}

/** The levels between `frame` and its child `i` in the JSON: 2 inside a Map (its entries are pairs) and for an Error's properties (an object of their own), else 1. */
function childOffset(frame: Frame, i: number): number {
  if (frame.kind === Kind.Map) return 2;
  return frame.kind === Kind.Error && i >= frame.items!.length ? 2 : 1;
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
