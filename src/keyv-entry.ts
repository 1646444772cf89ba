/**
 * The object {@link KeyvCuttle} keeps per Keyv key, and how a key becomes its id.
 * @module
 */
import { checkTypeName, MAX_ID_LENGTH } from './ids.js';
import { Serializable, type SerializableClass } from './model.js';

/** One Keyv key: stored under the key itself as its id, or under {@link idOfKey}'s hash. */
export class KeyvEntry extends Serializable {
  static override typeName = 'keyv';
  /** The Keyv key, with Keyv's `namespace:` prefix. */
  key = '';
  /** The value as Keyv gave it (its serialized string, unless Keyv's `serialize` is off). */
  value: unknown = undefined;
  /** When the entry expires, in ms since the epoch; absent: never. */
  expires?: number;
}

/** A class of entries: {@link KeyvEntry} or a subclass of it stored under another type name. */
export type KeyvEntryClass = SerializableClass<KeyvEntry> & (new (id?: string) => KeyvEntry);

/** One class per type name, so that every adapter of a type on a store registers the same class. */
const classes = new Map<string, KeyvEntryClass>([['keyv', KeyvEntry]]);

/** The entry class stored under `type` (a subclass of {@link KeyvEntry} for another name). */
export function entryClass(type: string): KeyvEntryClass {
  checkTypeName(type);
  let Class = classes.get(type);
  if (Class === undefined) {
    Class = class extends KeyvEntry {
      static override typeName = type;
    };
    classes.set(type, Class);
  }
  return Class;
}

/** Ids of keys that cannot be ids start with this; so do keys that start with it, hashed too. */
const HASHED = '~sha256:';
// Control characters, which ids refuse (see ids.ts).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Whether `id` is a hash standing for a key, which only its entry's `key` tells. */
export function isHashedId(id: string): boolean {
  return id.startsWith(HASHED);
}

/**
 * The id of `key`: the key itself when it is a valid id (1..256 characters, no control character,
 * well-formed UTF-16) and does not start with `~sha256:`, else `~sha256:` and the hex SHA-256 of
 * its UTF-8 bytes, so any string is a key.
 */
export async function idOfKey(key: string): Promise<string> {
  if (typeof key !== 'string') throw new TypeError(`KeyvCuttle: a key must be a string, got ${typeof key}`);
  const fits =
    key.length > 0 && [...key].length <= MAX_ID_LENGTH && !CONTROL.test(key) && key.isWellFormed() && !key.startsWith(HASHED);
  if (fits) return key;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  return HASHED + [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}
