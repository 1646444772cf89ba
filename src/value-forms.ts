/**
 * The stored forms cuttle adds to superjson's, for values superjson would not give back as they
 * were: binary data (superjson writes a typed array as a list of numbers, which loses NaN, ±Infinity
 * and -0 in float arrays, knows no Buffer, BigInt64Array, ArrayBuffer or DataView, and throws on
 * load for what it does not know) and the built-in Errors (superjson gives every Error back as a
 * plain `Error` without its own properties). Platform-neutral: a Buffer is made only where
 * `globalThis.Buffer` exists.
 * @module
 */
import { defineData } from './own-data.js';

/** The form of binary data in a document: its class and its bytes, little-endian, in base64. */
export type BytesJson = {
  class: string;
  base64: string;
};

/**
 * The form of a built-in Error in a document. Not JSON yet: superjson walks it as it walks the
 * Error (its cause and properties may hold Dates, Maps, ...) and revives those before this is read.
 */
export interface ErrorJson {
  /** The built-in class: `Error`, `TypeError`, ... */
  class: string;
  message: string;
  /** Present when the error's name is not its class's. */
  name?: string;
  /** Present when the error has a cause (which may be undefined). */
  cause?: unknown;
  /** The error's own enumerable properties (a system error's `code`, ...), when it has any. */
  properties?: Record<string, unknown>;
}

type BufferLike = Uint8Array & { toString(encoding: 'base64'): string };
interface BufferClass {
  prototype: BufferLike;
  from(buffer: ArrayBufferLike, byteOffset?: number, length?: number): BufferLike;
  from(text: string, encoding: 'base64'): BufferLike;
}
// Node's Buffer where there is one; the core must not name it directly (it also runs in browsers).
const NodeBuffer = (globalThis as { Buffer?: BufferClass }).Buffer;

type ViewClass = new (buffer: ArrayBuffer) => ArrayBufferView;

const VIEW_NAMES = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'DataView',
] as const;

/** Each binary class cuttle stores, by name; those this platform lacks (Float16Array) are left out. */
const VIEWS = new Map<string, ViewClass>();
for (const name of VIEW_NAMES) {
  const View = (globalThis as unknown as Record<string, ViewClass | undefined>)[name];
  if (typeof View === 'function') VIEWS.set(name, View);
}

/** The name stored for each binary class, by its prototype: exact classes only, not subclasses. */
const BINARY_NAMES = new Map<object, string>([[ArrayBuffer.prototype, 'ArrayBuffer']]);
for (const [name, View] of VIEWS) BINARY_NAMES.set(View.prototype, name);
if (NodeBuffer) BINARY_NAMES.set(NodeBuffer.prototype, 'Buffer');

/** The stored class name of `value` when it is binary data cuttle stores (not a subclass), else undefined. */
export function binaryName(value: object): string | undefined {
  return BINARY_NAMES.get(Object.getPrototypeOf(value));
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isBinary(value: unknown): value is ArrayBuffer | ArrayBufferView {
  return value !== null && typeof value === 'object' && BINARY_NAMES.has(Object.getPrototypeOf(value));
}

export function serializeBinary(value: ArrayBuffer | ArrayBufferView): BytesJson {
  const name = binaryName(value)!;
  const bytes = ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : new Uint8Array(value);
  const size = elementSize(name);
  return { class: name, base64: toBase64(LITTLE_ENDIAN || size === 1 ? bytes : swapped(bytes, size)) };
}

export function deserializeBinary(value: BytesJson): ArrayBuffer | ArrayBufferView {
  if (value === null || typeof value !== 'object' || typeof value.class !== 'string' || typeof value.base64 !== 'string') {
    throw new Error('malformed binary value');
  }
  const name = value.class;
  const View = VIEWS.get(name);
  if (View === undefined && name !== 'ArrayBuffer' && name !== 'Buffer') throw new Error(`unknown binary class ${JSON.stringify(name)}`);
  let bytes = fromBase64(value.base64);
  const size = elementSize(name);
  if (bytes.length % size !== 0) throw new Error(`${name} of ${bytes.length} bytes, not a whole number of ${size}-byte elements`);
  if (!LITTLE_ENDIAN && size > 1) bytes = swapped(bytes, size);
  if (name === 'ArrayBuffer') return bytes.buffer as ArrayBuffer;
  // A Buffer where the platform has one, else the Uint8Array a Buffer is.
  if (name === 'Buffer') return NodeBuffer ? NodeBuffer.from(bytes.buffer, 0, bytes.length) : bytes;
  return new View!(bytes.buffer as ArrayBuffer);
}

/** Bytes per element: 1 for byte arrays, DataView and ArrayBuffer (stored as they are). */
function elementSize(name: string): number {
  const View = VIEWS.get(name) as { BYTES_PER_ELEMENT?: number } | undefined;
  return View?.BYTES_PER_ELEMENT ?? 1;
}

/** A copy of `bytes` with each `size`-byte element reversed: stored bytes are little-endian on every platform. */
function swapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  return out;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function toBase64(bytes: Uint8Array): string {
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let binary = '';
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The bytes `text` encodes, in an ArrayBuffer of their own (never a shared pool). */
function fromBase64(text: string): Uint8Array {
  if (!BASE64.test(text)) throw new Error('binary value is not valid base64');
  if (NodeBuffer) return new Uint8Array(NodeBuffer.from(text, 'base64'));
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const ERROR_NAMES = ['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError'] as const;
type ErrorClass = new (message?: string, options?: { cause?: unknown }) => Error;

/** The built-in Error classes cuttle stores, by name, and their names by prototype. */
const ERRORS = new Map<string, ErrorClass>();
const ERROR_PROTOTYPES = new Map<object, string>();
for (const name of ERROR_NAMES) {
  const ErrorClass = (globalThis as unknown as Record<string, ErrorClass>)[name]!;
  ERRORS.set(name, ErrorClass);
  ERROR_PROTOTYPES.set(ErrorClass.prototype, name);
}

/** Whether `value` is an instance of a built-in Error class itself (not of a subclass). */
export function isBuiltInError(value: unknown): value is Error {
  return value !== null && typeof value === 'object' && ERROR_PROTOTYPES.has(Object.getPrototypeOf(value));
}

/** The own enumerable properties of an error kept in {@link ErrorJson.properties}. */
export function errorProperties(error: Error): string[] {
  return Object.keys(error).filter((key) => key !== 'name' && key !== 'message' && key !== 'cause' && key !== 'stack');
}

export function serializeError(error: Error): ErrorJson {
  const name = ERROR_PROTOTYPES.get(Object.getPrototypeOf(error))!;
  const json: ErrorJson = { class: name, message: String(error.message) };
  if (error.name !== name) json.name = String(error.name);
  if (Object.hasOwn(error, 'cause')) json.cause = error.cause;
  const keys = errorProperties(error);
  if (keys.length > 0) {
    const properties: Record<string, unknown> = {};
    for (const key of keys) defineData(properties, key, (error as unknown as Record<string, unknown>)[key]);
    json.properties = properties;
  }
  return json;
}

export function deserializeError(value: ErrorJson): Error {
  if (value === null || typeof value !== 'object' || typeof value.message !== 'string') throw new Error('malformed Error value');
  const ErrorClass = ERRORS.get(value.class);
  if (ErrorClass === undefined) throw new Error(`unknown Error class ${JSON.stringify(value.class)}`);
  const error = Object.hasOwn(value, 'cause') ? new ErrorClass(value.message, { cause: value.cause }) : new ErrorClass(value.message);
  if (typeof value.name === 'string') error.name = value.name;
  // The stack of the process that saved the error is not stored; this one would point into cuttle.
  error.stack = `${error.name}: ${error.message}`;
  const properties = value.properties;
  if (properties !== null && typeof properties === 'object') {
    for (const key of Object.keys(properties)) defineData(error, key, properties[key]);
  }
  return error;
}
