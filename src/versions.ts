/**
 * The stored version of each object a store saved or loaded, for `versionOf` and
 * `expectedVersion`, and through it which stores an object came from (for instance sugar).
 *
 * A WeakMap would do, but `WeakMap.set` costs ~1 µs per new object here (the garbage collector's
 * ephemeron work), which is a tenth of a cold load. So the version is kept on the object itself,
 * under a symbol of this store's own, as a non-enumerable property: no `Object.keys`, spread,
 * `Object.assign`, `JSON.stringify` or `structuredClone` sees or copies it, and two stores never
 * share one. An object that cannot take a new property (frozen, sealed) goes in a WeakMap instead.
 *
 * Each store's symbol is registered with its store, so the stores an object came from are found
 * from the symbols it carries ({@link ownersOf}) without a second property per object.
 * @module
 */

/** Each store's version symbol -> its store. */
const keyOwners = new WeakMap<symbol, object>();
/** Inextensible objects -> the stores that saved or loaded them. */
const inextensibleOwners = new WeakMap<object, object[]>();

export class Versions {
  readonly #key = Symbol('cuttle.version');
  readonly #owner: object;
  readonly #inextensible = new WeakMap<object, number>();

  /** @param owner the store these versions belong to, as {@link ownersOf} reports it. */
  constructor(owner: object) {
    this.#owner = owner;
    keyOwners.set(this.#key, owner);
  }

  get(obj: object): number | undefined {
    return Object.hasOwn(obj, this.#key) ? (obj as Record<symbol, number>)[this.#key] : this.#inextensible.get(obj);
  }

  has(obj: object): boolean {
    return Object.hasOwn(obj, this.#key) || this.#inextensible.has(obj);
  }

  set(obj: object, version: number): void {
    if (Object.hasOwn(obj, this.#key)) (obj as Record<symbol, number>)[this.#key] = version;
    else if (Object.isExtensible(obj)) Object.defineProperty(obj, this.#key, { value: version, writable: true, configurable: true });
    else {
      if (!this.#inextensible.has(obj)) {
        const owners = inextensibleOwners.get(obj);
        if (owners) owners.push(this.#owner);
        else inextensibleOwners.set(obj, [this.#owner]);
      }
      this.#inextensible.set(obj, version);
    }
  }
}

/** The stores that saved or loaded `obj`, in the order they first did. */
export function ownersOf(obj: object): object[] {
  const owners: object[] = [];
  for (const key of Object.getOwnPropertySymbols(obj)) {
    const owner = keyOwners.get(key);
    if (owner !== undefined) owners.push(owner);
  }
  const inextensible = inextensibleOwners.get(obj);
  return inextensible ? owners.concat(inextensible) : owners;
}
