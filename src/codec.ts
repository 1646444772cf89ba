/**
 * Object <-> record. The only module that knows superjson and the stored document format.
 *
 * A record's `content` is superjson's result as JSON text: `{"json": <document>}`, plus `"meta"`
 * when the document holds values JSON cannot express (Date, Map, BigInt, undefined, -0, shared
 * or cyclic references, stored objects, ...). Documents of plain JSON values, the common case,
 * skip superjson entirely: one walk to check, then `JSON.stringify`. Any other document is first
 * checked by {@link checkDocument} (what a document may hold, how deep it may nest), then written
 * by superjson with cuttle's own forms for binary data and Errors (value-forms.ts).
 *
 * A stored object inside a `Serializable` is embedded by value (`cuttle.embedded`: type, id and
 * its own content); inside a `Container` it is a reference (`cuttle.ref`: type and id), which
 * decodes to a {@link Ref} placeholder for the store to resolve.
 * @module
 */
import SuperJSON from 'superjson';
import type { RecordKind } from './backends/backend.js';
import { CorruptDataError, CuttleError } from './errors.js';
import { classOf, Serializable, type TypeInfo, type TypeRegistry } from './model.js';
import { checkId } from './ids.js';
import { describe } from './options.js';
import { defineData } from './own-data.js';
import { findRefs, Ref, withRefs, type FoundRef } from './references.js';
import { checkDocument, MAX_DEPTH, tooDeepMessage, type Within } from './storable.js';
import { stampVersion, storedVersion, upgradeData } from './type-versions.js';
import { deserializeBinary, deserializeError, isBinary, isBuiltInError, serializeBinary, serializeError, type BytesJson } from './value-forms.js';

/** How a stored object nested in a Serializable is written: its type, id and own content. */
type EmbeddedJson = { type: string; id: string; content: string };
/** How a reference from a Container is written. */
type RefJson = { type: string; id: string };
/** A document's content, and how many levels of JSON it nests. */
type Encoded = { content: string; depth: number };

/** Encodes objects of registered classes to record content and decodes them back. */
export class Codec {
  readonly #registry: TypeRegistry;
  /** For Serializable documents: nested stored objects are embedded. */
  readonly #documents = new SuperJSON();
  /** For Container documents: nested stored objects become references. */
  readonly #containers = new SuperJSON();
  /**
   * For `verify`: decodes any record at the data level, without its class; embedded objects are
   * decoded (and so checked) too, but not built.
   */
  readonly #checking = new SuperJSON();
  /** Objects being embedded right now, to stop a cycle of embedded objects. */
  readonly #embedding = new Set<Serializable>();
  /** The encodings of the stored objects the document being serialized embeds. */
  #embeddedDocuments = new Map<Serializable, Encoded>();

  constructor(registry: TypeRegistry) {
    this.#registry = registry;
    this.#documents.registerCustom<Serializable, EmbeddedJson>(
      { isApplicable: isStored, serialize: (value) => this.#embed(value), deserialize: (value) => this.#unembed(value) },
      'cuttle.embedded',
    );
    this.#containers.registerCustom<Ref, RefJson>(
      {
        isApplicable: (value): value is Ref => value instanceof Ref,
        serialize: (ref) => ({ type: ref.type, id: ref.id }),
        deserialize: toRef,
      },
      'cuttle.ref',
    );
    this.#checking.registerCustom<never, EmbeddedJson>(
      { isApplicable: (value): value is never => false, serialize: () => undefined as never, deserialize: (value) => this.#checkEmbedded(value) },
      'cuttle.embedded',
    );
    this.#checking.registerCustom<Ref, RefJson>(
      { isApplicable: (value): value is Ref => false, serialize: () => undefined as never, deserialize: toRef },
      'cuttle.ref',
    );
    for (const superjson of [this.#documents, this.#containers, this.#checking]) {
      // superjson writes an invalid Date as a bare null; keep it a Date.
      superjson.registerCustom<Date, string>(
        {
          isApplicable: (value): value is Date => value instanceof Date && Number.isNaN(value.getTime()),
          serialize: () => 'Invalid Date',
          deserialize: () => new Date(NaN),
        },
        'cuttle.invalid-date',
      );
      // Binary data as its bytes (superjson's own list of numbers loses NaN and -0, and knows no Buffer).
      superjson.registerCustom<ArrayBuffer | ArrayBufferView, BytesJson>(
        { isApplicable: isBinary, serialize: serializeBinary, deserialize: deserializeBinary },
        'cuttle.bytes',
      );
      // The built-in Errors with their class and own properties (superjson's keeps neither).
      // ErrorJson holds values superjson walks on (a cause, properties), so it is not the JSON the type asks for.
      const errors = { isApplicable: isBuiltInError, serialize: serializeError, deserialize: deserializeError };
      superjson.registerCustom<Error, string>(errors as never, 'cuttle.error');
    }
  }

  /**
   * The content string of `obj`, whose class is `info`. For a container, the stored objects it
   * refers to are appended to `referenced`, in document order.
   * @throws InvalidValueError when the document holds a value that would not load back as it is,
   * or nests deeper than {@link MAX_DEPTH}.
   */
  encode(obj: Serializable, info: TypeInfo, referenced: Serializable[] = []): string {
    return this.#encode(obj, info, referenced, undefined).content;
  }

  /** {@link Codec.#encodeDocument} with the class's type version in the envelope (type-versions.ts). */
  #encode(obj: Serializable, info: TypeInfo, referenced: Serializable[], within: Within | undefined): Encoded {
    const encoded = this.#encodeDocument(obj, info, referenced, within);
    return { content: stampVersion(encoded.content, info), depth: encoded.depth };
  }

  /**
   * {@link Codec.encode}, and how many levels the document nests. `within`: where it is embedded,
   * for an embedded object's document (which is encoded first, from its parent's walk, so that
   * its levels count where it sits in its parent's and nothing recurses document into document).
   */
  #encodeDocument(obj: Serializable, info: TypeInfo, referenced: Serializable[], within: Within | undefined): Encoded {
    let data = info.custom ? obj.toStorage!() : ownData(obj);
    const scan = new Scan();
    const shape = scan.shapeOf(data);
    if (shape === Shape.Plain) return { content: '{"json":' + JSON.stringify(data) + '}', depth: scan.deepest };
    // Exactly what superjson writes, without its walk (~40 µs on a 1 KB document).
    if (shape === Shape.PlainAndDates) {
      return { content: '{"json":' + JSON.stringify(data) + ',"meta":{"values":{' + scan.dates.join(',') + '},"v":1}}', depth: scan.deepest };
    }
    // Only a rich document can hold what would not load back, or embed a stored object.
    if (this.#embedding.has(obj)) {
      throw new TypeError(
        `${info.name} ${JSON.stringify(obj.id)} contains itself through embedded objects; ` +
          `a Serializable stores nested objects by value, so use a Container to keep references`,
      );
    }
    this.#embedding.add(obj);
    const embedded = new Map<Serializable, Encoded>();
    try {
      const depth = checkDocument(data, {
        type: info.name,
        id: obj.id,
        within,
        isStored,
        // Referenced (a Ref, one level), or embedded: then its own document takes its place.
        stored: info.kind === 'container' ? () => 1 : (child, where) => Math.max(1, this.#embedded(child as Serializable, where, embedded).depth),
      });
      if (info.kind === 'container') data = withRefs(data, isStored, (child) => this.#reference(child, referenced));
      const outer = this.#embeddedDocuments;
      this.#embeddedDocuments = embedded;
      try {
        return { content: JSON.stringify((info.kind === 'container' ? this.#containers : this.#documents).serialize(data as never)), depth };
      } finally {
        this.#embeddedDocuments = outer;
      }
    } catch (error) {
      if (error instanceof TypeError || error instanceof CuttleError) throw error;
      throw new TypeError(`${info.name} ${JSON.stringify(obj.id)} cannot be stored: ${(error as Error).message}`, { cause: error });
    } finally {
      this.#embedding.delete(obj);
    }
  }

  /** The encoding of `child`, embedded in the document being checked (`where` says where), made once per document. */
  #embedded(child: Serializable, where: () => Within, embedded: Map<Serializable, Encoded>): Encoded {
    let encoded = embedded.get(child);
    if (encoded === undefined) {
      const info = this.#registry.register(classOf(child));
      checkId(child.id, info.name);
      encoded = this.#encode(child, info, [], where());
      embedded.set(child, encoded);
    }
    return encoded;
  }

  /** Builds the object stored as (info.name, id). A container's references are left as {@link Ref}s. */
  decode(content: string, info: TypeInfo, id: string): Serializable {
    return this.construct(info, id, this.decodeData(content, info, id));
  }

  /** The stored document of (info.name, id) as data, upgraded to its class's type version, before it becomes an object. */
  decodeData(content: string, info: TypeInfo, id: string): unknown {
    const data = this.#parse(content, info.kind === 'container' ? this.#containers : this.#documents, info.name, id);
    return upgradeData(info, id, data, storedVersion(content));
  }

  /**
   * The references in a record's content, with their paths (none for an `object` record). The
   * whole content is decoded at the data level, embedded objects included, so content that would
   * not load is found; no class needs to be registered.
   * @throws CorruptDataError when the content cannot be decoded.
   */
  referencesIn(content: string, kind: RecordKind, type: string, id: string): FoundRef[] {
    const data = this.#parse(content, this.#checking, type, id);
    return kind === 'container' ? findRefs(data) : [];
  }

  /** Makes the object of class `info` from decoded data, without running its constructor. */
  construct(info: TypeInfo, id: string, data: unknown): Serializable {
    if (info.custom) {
      const obj = info.Class.fromStorage!(data);
      if (!(obj instanceof info.Class)) {
        throw new TypeError(`${info.name}.fromStorage() must return a ${info.name}, got ${describe(obj)}`);
      }
      defineData(obj, 'id', id);
      return obj;
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new CorruptDataError(`${info.name} ${JSON.stringify(id)}: document is not an object`, { type: info.name, id });
    }
    const obj = Object.create(info.Class.prototype) as Record<string, unknown>;
    obj.id = id;
    for (const key of Object.keys(data)) {
      const value = (data as Record<string, unknown>)[key];
      // A key the prototype chain already has ("__proto__", a setter, a getter) is defined, not
      // assigned: assigning would run that accessor, or for "__proto__" replace the prototype.
      // Plain assignment is kept for the rest because it is ~8x faster than defineProperty.
      if (key in obj) defineData(obj, key, value);
      else obj[key] = value;
    }
    return obj as unknown as Serializable;
  }

  #parse(content: string, superjson: SuperJSON, type: string, id: string): unknown {
    const envelope = this.#envelope(content, type, id);
    if (!('meta' in envelope) || reviveDates(envelope.json, envelope.meta)) return envelope.json;
    try {
      return superjson.deserialize(envelope as never, { inPlace: true });
    } catch (error) {
      if (error instanceof CuttleError) throw error;
      throw new CorruptDataError(`${type} ${JSON.stringify(id)}: cannot decode document (${(error as Error).message})`, { type, id }, { cause: error });
    }
  }

  #envelope(content: string, type: string, id: string): { json: unknown; meta?: unknown } {
    let envelope: unknown;
    try {
      envelope = JSON.parse(content);
    } catch (error) {
      throw new CorruptDataError(`${type} ${JSON.stringify(id)}: content is not valid JSON (${(error as Error).message})`, { type, id }, { cause: error });
    }
    if (envelope === null || typeof envelope !== 'object' || !('json' in envelope)) {
      throw new CorruptDataError(`${type} ${JSON.stringify(id)}: content is not a cuttle document (no "json" field)`, { type, id });
    }
    return envelope;
  }

  #embed(value: Serializable): EmbeddedJson {
    const info = this.#registry.register(classOf(value));
    checkId(value.id, info.name);
    // Encoded already by the document's check, which found every stored object in it.
    const content = (this.#embeddedDocuments.get(value) ?? this.#encode(value, info, [], undefined)).content;
    return { type: info.name, id: value.id, content };
  }

  #unembed(value: EmbeddedJson): Serializable {
    if (!isTypeAndId(value) || typeof value.content !== 'string') throw new Error('malformed embedded object');
    return this.decode(value.content, this.#registry.resolve(value.type), value.id);
  }

  /** Decodes an embedded object's content at the data level, for {@link Codec.referencesIn}. */
  #checkEmbedded(value: EmbeddedJson): never {
    if (!isTypeAndId(value) || typeof value.content !== 'string') throw new Error('malformed embedded object');
    try {
      this.#parse(value.content, this.#checking, value.type, value.id);
    } catch (error) {
      throw new Error(`the embedded ${(error as Error).message}`, { cause: error });
    }
    // Nothing is built: a placeholder in the data only verify reads.
    return null as never;
  }

  #reference(child: Serializable, referenced: Serializable[]): Ref {
    const info = this.#registry.register(classOf(child));
    checkId(child.id, info.name);
    referenced.push(child);
    return new Ref(info.name, child.id);
  }
}

function isStored(value: unknown): value is Serializable {
  return value instanceof Serializable;
}

function toRef(value: RefJson): Ref {
  if (!isTypeAndId(value)) throw new Error(`malformed reference ${JSON.stringify(value)}`);
  return new Ref(value.type, value.id);
}

function isTypeAndId(value: unknown): value is RefJson {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as RefJson).type === 'string' &&
    typeof (value as RefJson).id === 'string'
  );
}

/** The stored properties of `obj`: own, enumerable, not `id`, not functions. */
function ownData(obj: Serializable): Record<string, unknown> {
  // A plain {} rather than Object.create(null): V8 keeps it in fast mode, so JSON.stringify and
  // the plainness walk run faster on it.
  const data: Record<string, unknown> = {};
  for (const key in obj) {
    if (key === 'id' || !Object.hasOwn(obj, key)) continue;
    const value = (obj as unknown as Record<string, unknown>)[key];
    if (typeof value === 'function') continue;
    if (key === '__proto__') defineData(data, key, value);
    else data[key] = value;
  }
  return data;
}

/** What a document holds, as far as encoding it is concerned. */
const enum Shape {
  /** Only values JSON gives back exactly: `JSON.stringify` is the whole encoding. */
  Plain,
  /** Plain values and valid Dates: `JSON.stringify` plus a superjson meta listing the Dates' paths. */
  PlainAndDates,
  /** Anything else (Map, Set, BigInt, undefined, -0, shared objects, class instances, ...): superjson. */
  Rich,
}

/**
 * One walk over a document, which finds its {@link Shape} and, for {@link Shape.PlainAndDates},
 * the annotation superjson would write for each Date (`"a.0.when":["Date"]`): superjson's
 * `meta.values`, byte for byte (a spec compares the two).
 *
 * {@link Shape.Plain}: only strings, booleans, null, finite numbers other than -0, arrays without
 * holes and plain objects, with no object reached twice (JSON would copy a shared object and
 * cannot express a cycle). {@link Shape.PlainAndDates}: also valid `Date`s, each reached once,
 * none at the root and none under a key superjson refuses to read back (`__proto__`,
 * `constructor`, `prototype`). {@link Shape.Rich}: anything else, and any document nesting past
 * the levels it may have, which the rich path's check then refuses.
 */
class Scan {
  /** The Dates' annotations, in document order. */
  readonly dates: string[] = [];
  readonly #seen = new Set<object>();
  /** The keys leading to the value being looked at. */
  readonly #path: string[] = [];
  /** The levels of arrays and objects the document nests, as far as scanned. */
  deepest = 0;

  shapeOf(value: unknown): Shape {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return Shape.Plain;
      case 'number':
        return Number.isFinite(value) && !Object.is(value, -0) ? Shape.Plain : Shape.Rich;
      case 'object':
        return value === null ? Shape.Plain : this.#objectShape(value);
      default:
        return Shape.Rich;
    }
  }

  #objectShape(value: object): Shape {
    if (this.#seen.has(value)) return Shape.Rich;
    this.#seen.add(value);
    // An array or object past the levels a document may have (a Date is a string, not a level):
    // Rich, so that the rich path's walk, which has no recursion, refuses it.
    const level = this.#path.length + 1;
    const tooDeep = level > MAX_DEPTH;
    let shape = Shape.Plain;
    if (Array.isArray(value)) {
      if (tooDeep) return Shape.Rich;
      if (level > this.deepest) this.deepest = level;
      // A hole reads as undefined, which is Rich: no separate check needed.
      for (let i = 0; i < value.length && shape !== Shape.Rich; i++) shape = Math.max(shape, this.#childShape(String(i), value[i]));
      return shape;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto === Date.prototype) {
      // superjson annotates a Date at the root differently: leave that one to it.
      if (Number.isNaN((value as Date).getTime()) || this.#path.length === 0) return Shape.Rich;
      this.dates.push(JSON.stringify(this.#path.map(escapeKey).join('.')) + ':["Date"]');
      return Shape.PlainAndDates;
    }
    if (tooDeep || (proto !== Object.prototype && proto !== null)) return Shape.Rich;
    if (level > this.deepest) this.deepest = level;
    // for-in sees inherited enumerable keys too, but a plain object's prototype has none.
    for (const key in value) {
      const child = this.#childShape(key, (value as Record<string, unknown>)[key]);
      if (child === Shape.PlainAndDates && (key === '__proto__' || key === 'constructor' || key === 'prototype')) return Shape.Rich;
      shape = Math.max(shape, child);
      if (shape === Shape.Rich) break;
    }
    return shape;
  }

  #childShape(key: string, child: unknown): Shape {
    if (child === null || typeof child !== 'object') return this.shapeOf(child);
    this.#path.push(key);
    const shape = this.#objectShape(child);
    this.#path.pop();
    return shape;
  }
}

/** The superjson annotations whose values decode to neither a string, an array nor a plain object. */
const OPAQUE = new Set(['Date', 'undefined', 'bigint', 'number', 'regexp', 'symbol', 'map', 'set', 'Error', 'URL']);
/** cuttle's own superjson forms (see the constructor): each decodes to a class instance. */
const OPAQUE_CUSTOM = new Set(['cuttle.embedded', 'cuttle.ref', 'cuttle.invalid-date', 'cuttle.bytes', 'cuttle.error']);

/**
 * The document of `content` as a full-text index may read it (sqlite-search.ts) without its class:
 * its JSON, with `null` for every value the codec would decode to something other than a string,
 * an array or a plain object (a Date, a BigInt, `undefined`, a Map, a stored object, ...). Its
 * strings, and the arrays and plain objects holding them, are exactly the decoded document's
 * (`Codec.decodeData` for a class of type version `typeVersion`), and nothing else reads as one.
 * Undefined when that cannot be told without the class and superjson: another type version, a
 * `meta` with shared references or an annotation not known here, content that is not a document.
 */
export function searchableDocument(content: string, typeVersion: number): unknown {
  if (storedVersion(content) !== typeVersion) return undefined;
  let envelope: unknown;
  try {
    envelope = JSON.parse(content);
  } catch {
    return undefined;
  }
  if (envelope === null || typeof envelope !== 'object' || !('json' in envelope)) return undefined;
  const { json, meta } = envelope as { json: unknown; meta?: unknown };
  if (!('meta' in envelope)) return json;
  const values = metaAnnotations(meta);
  if (values === undefined) return undefined;
  for (const path in values) {
    const annotation = values[path];
    if (!Array.isArray(annotation) || path.includes('\\')) return undefined;
    const [kind, name] = annotation as unknown[];
    if (!(typeof kind === 'string' && OPAQUE.has(kind)) && !(kind === 'custom' && typeof name === 'string' && OPAQUE_CUSTOM.has(name))) return undefined;
    const keys = path.split('.');
    const last = keys.at(-1)!;
    if (last === '__proto__' || last === 'constructor' || last === 'prototype') return undefined;
    let holder: unknown = json;
    for (const key of keys.slice(0, -1)) holder = step(holder, key);
    // A path under a value already made null (inside a Map, an Error's form, ...) has nothing left to change.
    if (holder !== null && typeof holder === 'object' && Object.hasOwn(holder, last)) (holder as Record<string, unknown>)[last] = null;
  }
  return json;
}

/**
 * The annotations by path of a superjson `meta` that says nothing else (no shared references,
 * `v` absent or 1): `{}` when it has none; undefined when it says more, or something unknown.
 */
export function metaAnnotations(meta: unknown): Readonly<Record<string, unknown>> | undefined {
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
  for (const key in meta) if (key !== 'values' && key !== 'v') return undefined;
  const { values, v } = meta as { values?: unknown; v?: unknown };
  if (v !== undefined && v !== 1) return undefined;
  if (values === undefined) return {};
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return undefined;
  return values as Record<string, unknown>;
}

/**
 * Applies a superjson `meta` that only says where Dates are (what `encode` writes for
 * {@link Shape.PlainAndDates}: `{"values":{"a.0.when":["Date"]},"v":1}`) to `json` in place, as
 * superjson would, without superjson's walk. Checks every path before changing anything.
 * @returns false, having changed nothing, when `meta` says anything else: superjson applies it.
 */
function reviveDates(json: unknown, meta: unknown): boolean {
  const values = metaAnnotations(meta);
  if (values === undefined) return false;
  const holders: Array<Record<string, unknown>> = [];
  const keys: string[] = [];
  for (const path in values) {
    const annotation = (values as Record<string, unknown>)[path];
    if (!Array.isArray(annotation) || annotation.length !== 1 || annotation[0] !== 'Date' || path.includes('\\')) return false;
    let holder: unknown = json;
    let start = 0;
    for (let dot = path.indexOf('.'); dot >= 0; start = dot + 1, dot = path.indexOf('.', start)) holder = step(holder, path.slice(start, dot));
    const key = path.slice(start);
    if (typeof step(holder, key) !== 'string') return false;
    holders.push(holder as Record<string, unknown>);
    keys.push(key);
  }
  for (let i = 0; i < holders.length; i++) holders[i]![keys[i]!] = new Date(holders[i]![keys[i]!] as string);
  return true;
}

/** `holder[key]` when `holder` is an object that has `key` of its own (and `key` is safe to read), else `undefined`. */
function step(holder: unknown, key: string): unknown {
  if (holder === null || typeof holder !== 'object' || key === '__proto__' || key === 'constructor' || key === 'prototype') return undefined;
  return Object.hasOwn(holder, key) ? (holder as Record<string, unknown>)[key] : undefined;
}

/** A key as superjson writes it in a path: `.` and `\` escaped with a backslash. */
function escapeKey(key: string): string {
  return /[.\\]/.test(key) ? key.replace(/\\/g, '\\\\').replace(/\./g, '\\.') : key;
}

/**
 * Why the record (type, id) with content `envelope` (parsed) could not be saved again once loaded
 * (it nests deeper than {@link MAX_DEPTH}), as the message `encode` would throw; undefined when it could.
 */
export function depthProblem(envelope: object, type: string, id: string): string | undefined {
  return storedDepth(envelope as { json: unknown; meta?: unknown }) > MAX_DEPTH ? tooDeepMessage(type, id) : undefined;
}

/**
 * How deep the document of a record's content nests, in levels of its stored JSON, the documents
 * of the objects embedded in it counted from where they sit (see {@link MAX_DEPTH}): for a record
 * read from a dump, what `encode` would measure if the loaded object were saved again. No class
 * needs to be registered, and nothing recurses, so any content can be measured. `envelope` is the
 * parsed content; parts that are not a well-formed cuttle document are not counted.
 */
function storedDepth(envelope: { json: unknown; meta?: unknown }): number {
  let deepest = 0;
  const work = [{ envelope, base: 0 }];
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    deepest = Math.max(deepest, item.base + jsonDepth(item.envelope.json));
    if (deepest > MAX_DEPTH) break;
    for (const { level, content } of embeddedIn(item.envelope)) {
      let inner: unknown;
      try {
        inner = JSON.parse(content);
      } catch {
        continue;
      }
      // The embedded document takes the embedded object's place.
      if (inner !== null && typeof inner === 'object' && 'json' in inner) work.push({ envelope: inner, base: item.base + level - 1 });
    }
  }
  return deepest;
}

/** The levels of arrays and objects in parsed JSON (0 for a primitive), without recursion. */
function jsonDepth(json: unknown): number {
  let deepest = 0;
  const values: unknown[] = [json];
  const levels: number[] = [1];
  while (values.length > 0) {
    const value = values.pop();
    const level = levels.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (level > deepest) deepest = level;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (child !== null && typeof child === 'object') {
        values.push(child);
        levels.push(level + 1);
      }
    }
  }
  return deepest;
}

/**
 * The embedded objects of a content's document: where each sits (its level in the JSON) and its
 * own content, found through superjson's `meta.values`, whose paths are paths into the JSON.
 */
function embeddedIn(envelope: { json: unknown; meta?: unknown }): Array<{ level: number; content: string }> {
  const found: Array<{ level: number; content: string }> = [];
  const meta = envelope.meta as { values?: unknown; v?: unknown } | null | undefined;
  if (meta === null || typeof meta !== 'object' || meta.v !== 1) return found;
  /** Annotation trees to read, each with the path of the value it annotates (a chain, not copied per node). */
  type At = { segments: string[]; parent: At | undefined; length: number };
  const work: Array<{ tree: unknown; at: At | undefined }> = [{ tree: meta.values, at: undefined }];
  const below = (at: At | undefined, path: string): At | undefined => {
    const segments = parsePath(path);
    return segments === undefined ? undefined : { segments, parent: at, length: (at?.length ?? 0) + segments.length };
  };
  for (let item = work.pop(); item !== undefined; item = work.pop()) {
    const { tree, at } = item;
    // Paths longer than the limit lead nowhere in a document the limit allows, which jsonDepth measured first.
    if ((at?.length ?? 0) > MAX_DEPTH) continue;
    let children: unknown = tree;
    if (Array.isArray(tree)) {
      // [annotation, children?]: the value at `at` was transformed, `children` annotate inside it.
      const annotation: unknown = tree[0];
      children = tree[1];
      if (Array.isArray(annotation) && annotation[0] === 'custom' && annotation[1] === 'cuttle.embedded') {
        const embedded = valueAt(envelope.json, at);
        if (embedded !== null && typeof embedded === 'object' && typeof (embedded as EmbeddedJson).content === 'string') {
          found.push({ level: (at?.length ?? 0) + 1, content: (embedded as EmbeddedJson).content });
        }
      }
    }
    if (children === null || typeof children !== 'object' || Array.isArray(children)) continue;
    for (const path of Object.keys(children)) {
      const next = below(at, path);
      if (next !== undefined) work.push({ tree: (children as Record<string, unknown>)[path], at: next });
    }
  }
  return found;
}

/** The JSON value at a path chain, or undefined. */
function valueAt(json: unknown, at: { segments: string[]; parent: unknown } | undefined): unknown {
  const chain: string[][] = [];
  for (let link = at; link !== undefined; link = link.parent as typeof at) chain.push(link.segments);
  let value = json;
  for (let i = chain.length - 1; i >= 0; i--) for (const segment of chain[i]!) value = step(value, segment);
  return value;
}

/** A superjson (v1) path split into its keys: `a.b\.c` is `a`, `b.c`; undefined when malformed. */
function parsePath(path: string): string[] | undefined {
  const segments: string[] = [];
  let segment = '';
  for (let i = 0; i < path.length; i++) {
    const char = path[i]!;
    if (char === '\\') {
      const escaped = path[++i];
      if (escaped !== '\\' && escaped !== '.') return undefined;
      segment += escaped;
    } else if (char === '.') {
      segments.push(segment);
      segment = '';
    } else {
      segment += char;
    }
  }
  segments.push(segment);
  return segments;
}
