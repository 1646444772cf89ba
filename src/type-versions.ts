/**
 * Type versions (schema evolution): a class says `static version = 3` and
 * `static upgrade(data, fromVersion)`; each record remembers the version of the class that wrote
 * it, and loading an older one upgrades its data in memory one step at a time (1 -> 2 -> 3).
 *
 * Where the version is kept: in the record's content, as a first key of the envelope,
 * `{"typeVersion":3,"json":...}`, written only when the version is above 1. A record without it is
 * version 1, so every record and dump written before type versions existed reads unchanged, and a
 * class that never sets a version writes exactly what it wrote before.
 * @module
 */
import { TypeVersionError } from './errors.js';
import type { SerializableClass, TypeInfo } from './model.js';
import { describe } from './options.js';

/** A class with a type version: `static version` and, from version 2 on, `static upgrade`. */
export interface VersionedClass {
  /** The version this class writes; a positive integer. @default 1 */
  version?: number;
  /**
   * Returns the stored data of version `fromVersion` as version `fromVersion + 1` would store it
   * (it may change `data` in place and return it). Called once per step on load, from the
   * record's version up to the class's; `data` is what `toStorage()` returned, or the object's
   * stored properties (without `id`).
   */
  upgrade?(data: unknown, fromVersion: number): unknown;
}

const PREFIX = '{"typeVersion":';
const versions = new WeakMap<Function, number>();

/**
 * The version `Class` writes: its own `static version` (not inherited, like `typeName`: a
 * subclass is another type with its own history), 1 when it sets none.
 * @throws TypeError when it is not a positive integer.
 */
export function classVersion(Class: SerializableClass): number {
  let version = versions.get(Class);
  if (version === undefined) {
    const given = Object.hasOwn(Class, 'version') ? (Class as VersionedClass).version : undefined;
    if (given !== undefined && (typeof given !== 'number' || !Number.isSafeInteger(given) || given < 1)) {
      throw new TypeError(`${Class.name}.version must be a positive integer, got ${describe(given)}`);
    }
    version = given ?? 1;
    versions.set(Class, version);
  }
  return version;
}

/** `content` (an envelope `{"json":...}`) with the class's version in it when that is above 1. */
export function stampVersion(content: string, info: TypeInfo): string {
  const version = classVersion(info.Class);
  return version === 1 ? content : `${PREFIX}${version},${content.slice(1)}`;
}

/** The version a record's content was written at: its `typeVersion`, 1 when it has none. */
export function storedVersion(content: string): number {
  if (!content.startsWith(PREFIX)) return 1;
  const end = content.indexOf(',', PREFIX.length);
  const version = Number(content.slice(PREFIX.length, end));
  return Number.isSafeInteger(version) && version >= 1 ? version : NaN;
}

/**
 * The decoded `data` of (info.name, id), stored at `fromVersion`, as the class's version stores it.
 * @throws TypeVersionError when the record is newer than the class, when a step is needed and the
 *   class has no `static upgrade`, or when an upgrade throws.
 */
export function upgradeData(info: TypeInfo, id: string, data: unknown, fromVersion: number): unknown {
  const current = classVersion(info.Class);
  if (fromVersion === current) return data;
  const what = `${info.name} ${JSON.stringify(id)}`;
  if (!(fromVersion >= 1)) {
    throw new TypeVersionError(`${what}: the stored type version is not a positive integer`, info.name, id, fromVersion, current);
  }
  if (fromVersion > current) {
    throw new TypeVersionError(
      `${what} was stored by version ${fromVersion} of ${info.name}, newer than this class (version ${current}): ` +
        `load it with the newer code, or raise ${info.name}.version and teach ${info.name}.upgrade the steps`,
      info.name,
      id,
      fromVersion,
      current,
    );
  }
  const upgrade = (info.Class as VersionedClass).upgrade;
  if (typeof upgrade !== 'function') {
    throw new TypeVersionError(
      `${what} was stored by version ${fromVersion} of ${info.name}, which is at version ${current} and has no static upgrade(data, fromVersion)`,
      info.name,
      id,
      fromVersion,
      current,
    );
  }
  for (let version = fromVersion; version < current; version++) {
    try {
      data = upgrade.call(info.Class, data, version);
    } catch (error) {
      throw new TypeVersionError(
        `${what}: ${info.name}.upgrade(data, ${version}) failed, upgrading version ${fromVersion} to ${current}: ${(error as Error)?.message ?? String(error)}`,
        info.name,
        id,
        fromVersion,
        current,
        { cause: error },
      );
    }
  }
  return data;
}
