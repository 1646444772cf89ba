/**
 * The object model: {@link Serializable} documents, {@link Container}s, and the
 * {@link TypeRegistry} that maps type names to classes.
 * @module
 */
import { ClosedError, DuplicateTypeError, InvalidIdError, UnknownTypeError } from './errors.js';
import type { DeleteOptions, LoadOptions, SaveOptions } from './operations.js';
import { checkTypeName } from './ids.js';
import { describe } from './options.js';
import { ownersOf } from './versions.js';

/** What instance sugar needs of a store; `Store` is one. */
export interface SugarStore {
  readonly closed: boolean;
  readonly backend: { readonly name: string };
  save<T extends Serializable>(obj: T, options?: SaveOptions): Promise<T>;
  delete(obj: Serializable, options?: DeleteOptions): Promise<boolean>;
  load<T extends Serializable>(Class: SerializableClass<T>, id: string, options?: LoadOptions): Promise<T>;
  get<T extends Serializable>(Class: SerializableClass<T>, id: string, options?: LoadOptions): Promise<T | undefined>;
}

/** The slot the facade (storage.ts) fills with its default store, so this module need not import it. */
let defaultStore: (() => SugarStore) | undefined;

/** Sets where instance sugar finds the default store: `Storage` calls it once, when it is loaded. */
export function setDefaultStore(get: () => SugarStore): void {
  defaultStore = get;
}

function theDefaultStore(): SugarStore {
  if (defaultStore === undefined) throw new Error('cuttle: no default store; import from "cuttle", which sets up Storage');
  return defaultStore();
}

/**
 * The store `obj.save()` and `obj.delete()` use: the one the object was saved or loaded through,
 * else the default store. Never silently another: an object several open stores know is refused.
 */
function storeOf(obj: Serializable): SugarStore {
  const owners = ownersOf(obj) as SugarStore[];
  if (owners.length === 0) return theDefaultStore();
  const open = owners.filter((store) => !store.closed);
  const what = `${typeNameOf(obj)} ${JSON.stringify(obj.id)}`;
  if (open.length === 1) return open[0]!;
  if (open.length === 0) throw new ClosedError(`the store ${what} was saved or loaded through (${owners.at(-1)!.backend.name})`);
  throw new TypeError(
    `${what} was saved or loaded through ${open.length} open stores (${open.map((store) => store.backend.name).join(', ')}); ` +
      `obj.save() and obj.delete() cannot tell which one to use: call store.save(obj) on the one you mean`,
  );
}

function typeNameOf(obj: Serializable): string {
  const Class = Object.getPrototypeOf(obj)?.constructor as SerializableClass | undefined;
  return (Class && Object.hasOwn(Class, 'typeName') ? Class.typeName : Class?.name) || 'object';
}

/**
 * A class whose instances cuttle can store: a subclass of {@link Serializable}. It may set
 * `static typeName` (the name it is stored under; default: the class name), may pair an
 * instance method `toStorage()` with `static fromStorage(data)` to choose its own stored form, and
 * may set `static version` with `static upgrade(data, fromVersion)` to evolve that form.
 */
export type SerializableClass<T extends Serializable = Serializable> = (new (...args: never[]) => T) & {
  readonly prototype: T;
  typeName?: string;
  fromStorage?(data: unknown): T;
  /** The type version this class writes (see docs/guide.md "Type versions"). @default 1 */
  version?: number;
  /** Turns stored data of version `fromVersion` into version `fromVersion + 1`'s; called step by step on load. */
  upgrade?(data: unknown, fromVersion: number): unknown;
};

/**
 * A self-contained document. Every own enumerable property except `id` and function-valued ones is
 * stored by value; Date, Map, Set, BigInt, RegExp, undefined, NaN, ±Infinity and -0 survive.
 *
 * **Construction on load.** A loaded object is made with `Object.create(Class.prototype)` and its
 * stored properties are then defined on it: the constructor and field initializers do not run,
 * so they cannot overwrite stored fields or repeat side effects. A property the document does not
 * hold (a field added to the class later) is therefore absent; define `static fromStorage(data)`
 * to fill defaults. Private `#fields` are not stored.
 */
export class Serializable {
  /**
   * The name objects of this class are stored under; `[A-Za-z_][A-Za-z0-9_.-]*`. Set it when
   * the class name may change (renames, minifiers). Not inherited: a subclass is stored under
   * its own name unless it sets its own typeName. @default the class name
   */
  declare static typeName?: string;

  /** The object's id: a random UUID unless set. 1 to 256 characters, no control characters. */
  id: string;

  constructor(id?: string) {
    // The Web Crypto global: Node 19+ and every browser have it, so the core needs no node:crypto.
    this.id = id ?? crypto.randomUUID();
  }

  /**
   * Saves this object in the store it was saved or loaded through, else in the default store
   * (`Storage`). An object that several open stores saved or loaded is refused with a `TypeError`
   * (call `store.save(obj)`); one whose store was closed gets `ClosedError`.
   */
  save(options?: SaveOptions): Promise<this> {
    try {
      return storeOf(this).save(this, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Deletes this object from the store it was saved or loaded through (see {@link save}); with
   * `options.expectedVersion`, only if that is the stored version (else `ConflictError`).
   */
  delete(options?: DeleteOptions): Promise<boolean> {
    try {
      return storeOf(this).delete(this, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Loads an instance from the default store: `Storage.load(this, id, options)`. */
  static load<T extends Serializable>(this: SerializableClass<T>, id: string, options?: LoadOptions): Promise<T> {
    return theDefaultStore().load(this, id, options);
  }

  /** Like {@link Serializable.load} but resolves to `undefined` when the object is not stored. */
  static get<T extends Serializable>(this: SerializableClass<T>, id: string, options?: LoadOptions): Promise<T | undefined> {
    return theDefaultStore().get(this, id, options);
  }
}

export interface Serializable {
  /**
   * Optional: returns the value to store instead of the object's own properties. Pair it with
   * `static fromStorage(data)`, which builds the object back from that value.
   */
  toStorage?(): unknown;
}

/**
 * The class of a stored object, found through its prototype: an own property named `constructor`
 * (a document field) must not be taken for it.
 */
export function classOf(obj: Serializable): SerializableClass {
  return (Object.getPrototypeOf(obj) as { constructor: SerializableClass }).constructor;
}

/**
 * Like {@link Serializable}, except that stored objects held in its properties, at any depth, are
 * kept as references to their own records rather than copied (see docs/containers.md).
 */
export class Container extends Serializable {}

/** What the registry knows of a class. */
export interface TypeInfo {
  readonly name: string;
  readonly Class: SerializableClass;
  readonly kind: 'object' | 'container';
  /** Whether the class stores itself through `toStorage()` / `fromStorage()`. */
  readonly custom: boolean;
}

/**
 * Maps type names to classes, one registry per store. A class is registered by name on its first
 * save or load, or explicitly; two different classes claiming one name is a
 * {@link DuplicateTypeError}.
 */
export class TypeRegistry {
  readonly #byName = new Map<string, TypeInfo>();
  readonly #byClass = new Map<Function, TypeInfo>();

  /** Registers `Class` (idempotent) and returns what the registry knows of it. */
  register(Class: SerializableClass): TypeInfo {
    const known = this.#byClass.get(Class);
    if (known) return known;
    if (typeof Class !== 'function' || !(Class === Serializable || Class.prototype instanceof Serializable)) {
      throw new TypeError(`cuttle can only store subclasses of Serializable or Container, got ${describe(Class)}`);
    }
    // typeName must be the class's own: a subclass inheriting its parent's name would collide with it.
    const name = Object.hasOwn(Class, 'typeName') ? Class.typeName : Class.name;
    if (name === '') throw new InvalidIdError('An anonymous class needs `static typeName = "..."` to be stored', name);
    checkTypeName(name);
    if (this.#byName.has(name)) throw new DuplicateTypeError(name);
    const hasTo = typeof Class.prototype.toStorage === 'function';
    const hasFrom = typeof Class.fromStorage === 'function';
    if (hasTo !== hasFrom) {
      throw new TypeError(
        `${name} defines ${hasTo ? 'toStorage() but not static fromStorage()' : 'static fromStorage() but not toStorage()'}; define both or neither`,
      );
    }
    const info: TypeInfo = Object.freeze({
      name,
      Class,
      kind: Class.prototype instanceof Container ? 'container' : 'object',
      custom: hasTo,
    });
    this.#byName.set(name, info);
    this.#byClass.set(Class, info);
    return info;
  }

  /** The info of a registered type name; {@link UnknownTypeError} if no class claimed it. */
  resolve(name: string): TypeInfo {
    const info = this.#byName.get(name);
    if (!info) throw new UnknownTypeError(name);
    return info;
  }

  /** Whether a class is registered under `name`. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The registered type names, sorted. */
  names(): string[] {
    return [...this.#byName.keys()].sort();
  }
}
