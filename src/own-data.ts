/**
 * Defining properties keyed by strings that come from users or from stored data (property names,
 * type names, ids): `obj[key] = value` with the key `__proto__` replaces the prototype, and with
 * a key the prototype has as an accessor runs the setter. Defining never does either.
 * @module
 */

/** Defines `key` on `obj` as an own, enumerable, writable data property holding `value`. */
export function defineData(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}
