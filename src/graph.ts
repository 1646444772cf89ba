/**
 * The object graph of containers: which records a cascading save writes, how a container and
 * everything it refers to is loaded (shared children once, cycles as cycles, no recursion per
 * level), and the store-wide walks behind `gc` and `verify`.
 * @module
 */
import type { RecordWrite, StorageBackend } from './backends/backend.js';
import { checkId, type Codec } from './codec.js';
import { DanglingReferenceError, NotFoundError, type CorruptDataError } from './errors.js';
import { classOf, type Serializable, type TypeInfo, type TypeRegistry } from './model.js';
import { findRefs, replaceRefs, replaceRefsInProperties, type FoundRef, type Ref } from './references.js';

/** What a cascading save does with the objects a container refers to. */
export type Cascade = 'new' | 'all' | 'none';

/** What loading does with a reference whose target is not stored. */
export type DanglingMode = 'error' | 'undefined';

/** What the graph walks need from the store. */
export interface GraphContext {
  readonly backend: StorageBackend;
  readonly codec: Codec;
  readonly registry: TypeRegistry;
  /** The cached instance of (type, id), if any. */
  cached(type: string, id: string): Serializable | undefined;
  /** Whether `obj` was saved or loaded through this store (so it is stored). */
  isStored(obj: Serializable): boolean;
}

/** One record a save will write, with the object it came from. */
export interface PlannedWrite {
  readonly obj: Serializable;
  readonly write: RecordWrite;
}

/**
 * The records saving `root` writes: `root` itself first, then, for a container, the objects it
 * reaches that the cascade mode selects ('new': not stored yet; 'all': every one; 'none': none).
 * Breadth-first with a visited set, so cycles and shared children are written once.
 */
export function planSave(ctx: GraphContext, root: Serializable, rootInfo: TypeInfo, cascade: Cascade, expectedVersion?: number): PlannedWrite[] {
  const planned: PlannedWrite[] = [];
  const byKey = new Map<string, Serializable>();
  const queue: Array<[Serializable, TypeInfo]> = [[root, rootInfo]];
  const seen = new Set<Serializable>([root]);
  for (let next = queue.shift(); next; next = queue.shift()) {
    const [obj, info] = next;
    checkId(obj.id, info.name);
    const key = objectKey(info.name, obj.id);
    const other = byKey.get(key);
    if (other !== undefined && other !== obj) {
      throw new TypeError(`Two different objects are both ${info.name} ${JSON.stringify(obj.id)} in one save; a graph may hold each stored object once`);
    }
    byKey.set(key, obj);
    const referenced: Serializable[] = [];
    const content = ctx.codec.encode(obj, info, referenced);
    planned.push({
      obj,
      write: { type: info.name, id: obj.id, kind: info.kind, content, expectedVersion: obj === root ? expectedVersion : undefined },
    });
    if (cascade === 'none') continue;
    for (const child of referenced) {
      if (seen.has(child)) continue;
      seen.add(child);
      if (cascade === 'all' || !ctx.isStored(child)) queue.push([child, ctx.registry.register(classOf(child))]);
    }
  }
  return planned;
}

/** An object a graph load made, with the record it came from. */
export interface LoadedObject {
  readonly obj: Serializable;
  readonly content: string;
  readonly version: number;
}

/**
 * Loads (type, id) and every object it reaches. Objects already in the cache (when allowed) are
 * used as they are; each other object is read once and made once, so a shared child is one
 * instance and a cycle is a cycle. Work is a queue, not recursion, so a chain of 10,000
 * containers loads without deepening the stack.
 * @returns the root (undefined when it is not stored) and every object made on the way.
 */
export async function loadGraph(
  ctx: GraphContext,
  info: TypeInfo,
  id: string,
  options: { dangling: DanglingMode; useCache: boolean },
): Promise<{ root: Serializable | undefined; loaded: Map<string, LoadedObject> }> {
  const loaded = new Map<string, LoadedObject>();
  /** Objects whose references are still placeholders. */
  const unresolved: Array<{ obj: Serializable; info: TypeInfo; refs: FoundRef[] }> = [];
  /** Custom-format containers being built: they cannot exist before their references do. */
  const building = new Set<string>();

  const make = async (info: TypeInfo, id: string): Promise<Serializable | undefined> => {
    const record = await ctx.backend.load(info.name, id);
    if (record === undefined) return undefined;
    const data = ctx.codec.decodeData(record.content, info, id);
    const refs = info.kind === 'container' ? findRefs(data) : [];
    const key = objectKey(info.name, id);
    let obj: Serializable;
    if (refs.length > 0 && info.custom) {
      // fromStorage needs the resolved data, so resolve before making this object.
      building.add(key);
      const targets = await resolveAll(info, id, refs);
      building.delete(key);
      obj = ctx.codec.construct(info, id, replaceRefs(data, (ref) => targets.get(refKey(ref))));
    } else {
      obj = ctx.codec.construct(info, id, data);
      if (refs.length > 0) unresolved.push({ obj, info, refs });
    }
    loaded.set(key, { obj, content: record.content, version: record.version });
    return obj;
  };

  const target = async (ref: Ref): Promise<Serializable | undefined> => {
    const key = refKey(ref);
    if (building.has(key)) {
      throw new TypeError(`${ref.type} ${JSON.stringify(ref.id)} defines fromStorage and is part of a reference cycle; cuttle cannot build it before the objects that refer back to it`);
    }
    return loaded.get(key)?.obj ?? (options.useCache ? ctx.cached(ref.type, ref.id) : undefined) ?? make(ctx.registry.resolve(ref.type), ref.id);
  };

  const resolveAll = async (owner: TypeInfo, ownerId: string, refs: FoundRef[]): Promise<Map<string, unknown>> => {
    const targets = new Map<string, unknown>();
    for (const { ref, path } of refs) {
      const key = refKey(ref);
      if (targets.has(key)) continue;
      const obj = await target(ref);
      if (obj === undefined && options.dangling === 'error') {
        throw new DanglingReferenceError({ type: owner.name, id: ownerId }, path, { type: ref.type, id: ref.id });
      }
      targets.set(key, obj);
    }
    return targets;
  };

  const root = await make(info, id);
  for (let item = unresolved.pop(); item; item = unresolved.pop()) {
    const targets = await resolveAll(item.info, item.obj.id, item.refs);
    replaceRefsInProperties(item.obj, (ref) => targets.get(refKey(ref)));
  }
  return { root, loaded };
}

/** Where a store-wide walk found a reference to an object that is not stored. */
export interface DanglingReference {
  readonly from: { type: string; id: string };
  readonly path: string;
  readonly target: { type: string; id: string };
}

/** A record whose content cannot be read back. */
export interface UnreadableObject {
  readonly type: string;
  /** Absent when not even the id could be read (a damaged file with a hashed name). */
  readonly id?: string;
  /** The file, on the file backend. */
  readonly file?: string;
  readonly error: string;
}

/** What {@link verify} found. */
export interface VerifyReport {
  /** How many records were looked at, readable or not. */
  checked: number;
  unreadable: UnreadableObject[];
  dangling: DanglingReference[];
}

/**
 * Reads every record once, streaming, and reports the unreadable ones and every reference whose
 * target is not stored. Memory grows with what it reports, not with the store.
 */
export async function verify(ctx: GraphContext): Promise<VerifyReport> {
  const report: VerifyReport = { checked: 0, unreadable: [], dangling: [] };
  const onCorrupt = (error: CorruptDataError) => {
    report.checked++;
    const { type = '?', id, file } = error.where;
    report.unreadable.push({ type, ...(id !== undefined && { id }), ...(file !== undefined && { file }), error: error.message });
  };
  for await (const record of ctx.backend.records({ onCorrupt })) {
    report.checked++;
    let refs: FoundRef[];
    try {
      refs = ctx.codec.referencesIn(record.content, record.kind, record.type, record.id);
    } catch (error) {
      report.unreadable.push({ type: record.type, id: record.id, error: (error as Error).message });
      continue;
    }
    const seen = new Set<string>();
    for (const { ref, path } of refs) {
      const key = refKey(ref);
      if (seen.has(key)) continue;
      seen.add(key);
      if (!(await ctx.backend.exists(ref.type, ref.id))) {
        report.dangling.push({ from: { type: record.type, id: record.id }, path, target: { type: ref.type, id: ref.id } });
      }
    }
  }
  return report;
}

/**
 * The objects no root reaches, by type: every stored object is kept if a chain of container
 * references leads to it from one of `roots`. Each reachable container is read once.
 * @throws NotFoundError when a root is not stored (nothing is collected then).
 */
export async function unreachable(ctx: GraphContext, roots: ReadonlyArray<{ type: string; id: string }>): Promise<Record<string, string[]>> {
  const reached = new Set<string>();
  const queue: Array<{ type: string; id: string; root: boolean }> = roots.map((root) => ({ ...root, root: true }));
  for (let next = queue.pop(); next; next = queue.pop()) {
    const key = objectKey(next.type, next.id);
    if (reached.has(key)) continue;
    const record = await ctx.backend.load(next.type, next.id);
    if (record === undefined) {
      if (next.root) throw new NotFoundError(next.type, next.id);
      continue; // a dangling reference reaches nothing
    }
    reached.add(key);
    if (record.kind !== 'container') continue;
    // A container that cannot be read throws here: collecting without knowing what it holds could delete live data.
    for (const { ref } of ctx.codec.referencesIn(record.content, record.kind, record.type, record.id)) {
      if (!reached.has(refKey(ref))) queue.push({ type: ref.type, id: ref.id, root: false });
    }
  }
  const garbage: Array<[string, string[]]> = [];
  for (const type of await ctx.backend.listTypes()) {
    const ids = (await ctx.backend.list(type)).filter((id) => !reached.has(objectKey(type, id)));
    if (ids.length > 0) garbage.push([type, ids]);
  }
  // fromEntries defines own properties: a type named "__proto__" is a key like any other.
  return Object.fromEntries(garbage);
}

/** One string for (type, id), to key Maps and Sets by object. Type names cannot hold ':', so it is unambiguous. */
export function objectKey(type: string, id: string): string {
  return type + ':' + id;
}

function refKey(ref: Ref): string {
  return objectKey(ref.type, ref.id);
}
