/**
 * The stored version of each object a store saved or loaded, for `versionOf` and
 * `expectedVersion`.
 *
 * A WeakMap would do, but `WeakMap.set` costs ~1 µs per new object here (the garbage collector's
 * ephemeron work), which is a tenth of a cold load. So the version is kept on the object itself,
 * under a symbol of this store's own, as a non-enumerable property: no `Object.keys`, spread,
 * `Object.assign`, `JSON.stringify` or `structuredClone` sees or copies it, and two stores never
 * share one. An object that cannot take a new property (frozen, sealed) goes in a WeakMap instead.
 * @module
 */
export class Versions {
  readonly #key = Symbol('cuttle.version');
  readonly #inextensible = new WeakMap<object, number>();

  get(obj: object): number | undefined {
    return Object.hasOwn(obj, this.#key) ? (obj as Record<symbol, number>)[this.#key] : this.#inextensible.get(obj);
  }

  has(obj: object): boolean {
    return Object.hasOwn(obj, this.#key) || this.#inextensible.has(obj);
  }

  set(obj: object, version: number): void {
    if (Object.hasOwn(obj, this.#key)) (obj as Record<symbol, number>)[this.#key] = version;
    else if (Object.isExtensible(obj)) Object.defineProperty(obj, this.#key, { value: version, writable: true, configurable: true });
    else this.#inextensible.set(obj, version);
  }
}
