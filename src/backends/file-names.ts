/**
 * File names of the file backend: ids and type names <-> names that are safe on every common
 * filesystem (ext4, APFS, NTFS, FAT) and can never leave their folder.
 *
 * An id's file name ("stem", before `.json`) keeps `a-z`, `0-9`, `-`, `_` and inner dots as they
 * are, and writes every other UTF-8 byte as `%xx` with lowercase hex. So stems hold only lowercase
 * ASCII: two ids that differ in case (`Ab`, `ab`) or in Unicode normalization (`é`, `e\u0301`)
 * get names that differ even on a case- or normalization-insensitive filesystem. A stem never
 * starts or ends with a dot, never holds `/`, `\` or a character Windows forbids, and a Windows
 * device name (`con`, `nul.txt`, `lpt9`) gets its first letter escaped. A stem longer than
 * {@link MAX_STEM} becomes its first part, `#` and a SHA-256 of the id: such a name cannot be
 * decoded, so the file backend keeps those ids in a small per-type index (see file-long-ids.ts).
 * @module
 */
import { createHash } from 'node:crypto';
import { InvalidIdError } from '../errors.js';
import { STORED_TYPE_NAME } from '../ids.js';

/**
 * The longest stem, in bytes (stems are ASCII). Leaves room under the common 255-byte name limit
 * for `.json` and for the lock file `.<stem>.lock.break`.
 */
export const MAX_STEM = 200;
/** What follows the stem in an object file's name. */
export const SUFFIX = '.json';
/** How much of a too-long stem a hashed name keeps, for people reading `ls`. */
const HASHED_PREFIX = 120;

/** 1 for the ASCII characters a stem keeps as they are: a-z, 0-9, '-', '_'. */
const SAFE_ASCII = Uint8Array.from({ length: 128 }, (_, code) => Number(/[a-z0-9_-]/.test(String.fromCharCode(code))));
const ESCAPED_ASCII = Array.from({ length: 128 }, (_, code) => '%' + code.toString(16).padStart(2, '0'));
/** A stem that needs no escaping: safe characters, inner dots. */
const PLAIN_STEM = /^[a-z0-9_-](?:[a-z0-9._-]*[a-z0-9_-])?$/;
/** Windows device names, which stay reserved with any extension (`con.json`). */
const DEVICE_NAME = /^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\.|$)/i;
const HASHED_STEM = /^[a-z0-9._%-]+#[0-9a-f]{64}$/;

/** The stem of the file holding `id`, without `.json`. */
export function encodeId(id: string): string {
  if (typeof id !== 'string' || id.length === 0 || !id.isWellFormed()) {
    throw new InvalidIdError(`FileBackend: id must be a non-empty well-formed string, got ${JSON.stringify(id)}`, id);
  }
  let stem = id;
  if (!PLAIN_STEM.test(id) || DEVICE_NAME.test(id)) {
    stem = '';
    for (let i = 0; i < id.length; i++) {
      const code = id.charCodeAt(i);
      if (code < 0x80) {
        const plain = SAFE_ASCII[code] === 1 || (code === 0x2e && i > 0 && i < id.length - 1);
        stem += plain ? id[i] : ESCAPED_ASCII[code];
      } else {
        const char = String.fromCodePoint(id.codePointAt(i)!);
        stem += escape(char);
        i += char.length - 1;
      }
    }
    if (DEVICE_NAME.test(stem)) stem = escape(stem[0]!) + stem.slice(1);
  }
  if (stem.length <= MAX_STEM) return stem;
  // Do not cut an escape in half; the prefix is for people only, the hash decides.
  let cut = HASHED_PREFIX;
  const percent = stem.lastIndexOf('%', cut - 1);
  if (percent > cut - 3) cut = percent;
  return `${stem.slice(0, cut)}#${sha256(id)}`;
}

/**
 * The id whose stem is `stem`; `undefined` for a hashed stem (look it up in the index) and for a
 * name cuttle would not have written (a foreign file), which callers skip.
 */
export function decodeId(stem: string): string | undefined {
  if (PLAIN_STEM.test(stem)) return DEVICE_NAME.test(stem) || stem.length > MAX_STEM ? undefined : stem;
  if (stem.includes('#')) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(stem);
  } catch {
    return undefined;
  }
  return encodeId(id) === stem ? id : undefined;
}

/** Whether `name` is an object file cuttle could have written: `<stem>.json`, stem decodable or hashed. */
export function isObjectName(name: string): boolean {
  if (!name.endsWith(SUFFIX)) return false;
  const stem = name.slice(0, -SUFFIX.length);
  return decodeId(stem) !== undefined || isHashedStem(stem);
}

/** Whether `stem` is a hashed name, whose id only the index or the file itself knows. */
export function isHashedStem(stem: string): boolean {
  return HASHED_STEM.test(stem);
}

/**
 * The folder name of a type. Type names are ASCII (`[A-Za-z_][A-Za-z0-9_.-]*`), so they stay as
 * they are, except a Windows device name (`CON` -> `%43ON`) and a trailing dot (`a.` -> `a%2e`).
 * Case is kept: see {@link FileBackend} for types that differ only in case. A namespaced type
 * (`billing:Note`, see src/namespace.ts) writes its colon as `%3a` (Windows forbids `:` in names):
 * `billing%3aNote`.
 */
export function encodeType(type: string): string {
  if (typeof type !== 'string' || !STORED_TYPE_NAME.test(type)) {
    throw new InvalidIdError(`FileBackend: invalid type name ${JSON.stringify(type)}`, type);
  }
  let folder = type;
  if (DEVICE_NAME.test(folder)) folder = escape(folder[0]!) + folder.slice(1);
  if (folder.endsWith('.')) folder = folder.slice(0, -1) + '%2e';
  return folder.replace(':', '%3a');
}

/** The type stored in folder `name`, or `undefined` when cuttle would not have made that folder. */
export function decodeType(name: string): string | undefined {
  let type: string;
  try {
    type = decodeURIComponent(name);
  } catch {
    return undefined;
  }
  if (!STORED_TYPE_NAME.test(type)) return undefined;
  return encodeType(type) === name ? type : undefined;
}

function escape(char: string): string {
  let out = '';
  for (const byte of Buffer.from(char, 'utf8')) out += '%' + byte.toString(16).padStart(2, '0');
  return out;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
