/**
 * References inside a container's document: the placeholder a decoded reference becomes, and the
 * walks that find placeholders (with a readable path for errors) and replace them with objects.
 * Both walks follow arrays, plain objects, Map keys and values, and Set members.
 * @module
 */
import { defineData } from './own-data.js';

/** A decoded reference `{type, id}` waiting to be replaced by the object it names. */
export class Ref {
  constructor(
    readonly type: string,
    readonly id: string,
  ) {}
}

/**
 * A copy of a container's data in which every stored object (a `Serializable`, told apart by
 * `isStored`) is replaced by a new {@link Ref} made by `toRef`. Arrays, plain objects, Maps and
 * Sets are copied (shared ones stay shared, cycles stay cycles); other values are kept as they are.
 * Each occurrence gets its own Ref so that the serializer sees no shared object where the user
 * shared a stored object: superjson would otherwise re-insert a shared Map key at the end.
 */
export function withRefs<T extends object>(value: unknown, isStored: (value: object) => value is T, toRef: (obj: T) => Ref): unknown {
  const copies = new Map<object, unknown>();
  const copy = (node: unknown): unknown => {
    if (node === null || typeof node !== 'object') return node;
    if (isStored(node)) return toRef(node);
    const done = copies.get(node);
    if (done !== undefined) return done;
    if (Array.isArray(node)) {
      const out: unknown[] = [];
      copies.set(node, out);
      for (let i = 0; i < node.length; i++) out[i] = copy(node[i]);
      return out;
    }
    if (node instanceof Map) {
      const out = new Map();
      copies.set(node, out);
      for (const [key, child] of node) out.set(copy(key), copy(child));
      return out;
    }
    if (node instanceof Set) {
      const out = new Set();
      copies.set(node, out);
      for (const member of node) out.add(copy(member));
      return out;
    }
    if (isPlainObject(node)) {
      const out: Record<string, unknown> = Object.create(null);
      copies.set(node, out);
      for (const key of Object.keys(node)) out[key] = copy((node as Record<string, unknown>)[key]);
      return out;
    }
    return node;
  };
  return copy(value);
}

/** A reference found in a document, and where: `notes[3]`, `byKey.get("a")`, `owner`. */
export interface FoundRef {
  readonly ref: Ref;
  readonly path: string;
}

/** Every {@link Ref} in `value`, in document order, each with its path from the document's root. */
export function findRefs(value: unknown): FoundRef[] {
  const found: FoundRef[] = [];
  const seen = new Set<object>();
  const path: string[] = [];
  const visit = (node: unknown): void => {
    if (node instanceof Ref) {
      found.push({ ref: node, path: path.join('') || '(the document itself)' });
      return;
    }
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    const step = (segment: string, child: unknown) => {
      path.push(segment);
      visit(child);
      path.pop();
    };
    if (Array.isArray(node)) node.forEach((child, i) => step(`[${i}]`, child));
    else if (node instanceof Map) {
      let i = 0;
      for (const [key, child] of node) {
        step(`.keys()[${i++}]`, key);
        step(`.get(${describeKey(key)})`, child);
      }
    } else if (node instanceof Set) {
      let i = 0;
      for (const member of node) step(`.values()[${i++}]`, member);
    } else if (isPlainObject(node)) {
      for (const key of Object.keys(node)) step(propertySegment(key, path.length === 0), (node as Record<string, unknown>)[key]);
    }
  };
  visit(value);
  return found;
}

/**
 * Replaces every {@link Ref} in `value` with `lookup(ref)`, in place (Maps and Sets holding a
 * reference are rebuilt in their original order). @returns `value`, or its replacement if `value`
 * is itself a Ref.
 */
export function replaceRefs(value: unknown, lookup: (ref: Ref) => unknown): unknown {
  const seen = new Set<object>();
  const swap = (node: unknown): unknown => {
    if (node instanceof Ref) return lookup(node);
    if (node === null || typeof node !== 'object' || seen.has(node)) return node;
    seen.add(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) node[i] = swap(node[i]);
    } else if (node instanceof Map) {
      const entries = [...node].map(([key, child]) => [swap(key), swap(child)] as const);
      node.clear();
      for (const [key, child] of entries) node.set(key, child);
    } else if (node instanceof Set) {
      const members = [...node].map(swap);
      node.clear();
      for (const member of members) node.add(member);
    } else if (isPlainObject(node)) {
      for (const key of Object.keys(node)) setOwn(node as Record<string, unknown>, key, swap((node as Record<string, unknown>)[key]));
    }
    return node;
  };
  return swap(value);
}

/** Replaces references held in the own properties of a loaded object. */
export function replaceRefsInProperties(obj: object, lookup: (ref: Ref) => unknown): void {
  for (const key of Object.keys(obj)) {
    const value = (obj as Record<string, unknown>)[key];
    const replaced = replaceRefs(value, lookup);
    if (replaced !== value) setOwn(obj as Record<string, unknown>, key, replaced);
  }
}

/** Sets an own data property; "__proto__" is defined so it never replaces the prototype. */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (obj[key] === value) return;
  if (key === '__proto__' || !Object.hasOwn(obj, key)) {
    defineData(obj, key, value);
  } else {
    obj[key] = value;
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `key` as a segment of a path: `.key`, or `key` when `first`; `["a key"]` when it is not an identifier. */
export function propertySegment(key: string, first: boolean): string {
  if (IDENTIFIER.test(key)) return first ? key : `.${key}`;
  return `[${JSON.stringify(key)}]`;
}

/** A Map key as a path segment shows it: `"a"`, `3`, `Date(...)`, `<Note "x">`. */
export function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key);
  if (typeof key === 'number' || typeof key === 'boolean' || key === null || key === undefined) return String(key);
  if (typeof key === 'bigint') return `${key}n`;
  if (key instanceof Ref) return `<${key.type} ${JSON.stringify(key.id)}>`;
  if (key instanceof Date) return `Date(${JSON.stringify(key.toJSON())})`;
  return `<${(Object.getPrototypeOf(key) as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'object'}>`;
}
