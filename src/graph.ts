/**
 * The object graph of containers: which records a cascading save writes, how a container and
 * everything it refers to is loaded (shared children once, cycles as cycles, no recursion per
 * level), and the store-wide walks behind `gc` and `verify`.
 * @module
 */
import type { RecordWrite, StorageBackend, StoredRecord } from './backends/backend.js';
import { type Codec } from './codec.js';
import { checkId } from './ids.js';
import { DanglingReferenceError, NotFoundError, type CorruptDataError } from './errors.js';
import { classOf, type Serializable, type TypeInfo, type TypeRegistry } from './model.js';
import type { Cascade, DanglingMode } from './operations.js';
import { findRefs, replaceRefs, replaceRefsInProperties, type FoundRef, type Ref } from './references.js';

export type { Cascade, DanglingMode } from './operations.js';

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

/** What {@link loadGraph} needs: the graph context, with a backend that only has to load (a transaction's will do). */
export type LoadContext = Omit<GraphContext, 'backend'> & { readonly backend: Pick<StorageBackend, 'loadMany'> };

/** What {@link planSave} needs. */
export type PlanContext = Pick<GraphContext, 'codec' | 'registry' | 'isStored'>;

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
export function planSave(ctx: PlanContext, root: Serializable, rootInfo: TypeInfo, cascade: Cascade, expectedVersion?: number): PlannedWrite[] {
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
 * Loads (type, id) and every object it reaches, one level at a time: each level's records are read
 * with one `loadMany` per type (so a container of 200 notes costs two round trips, not 201).
 * Objects already in the cache (when allowed) are used as they are; each other object is read
 * once and made once, so a shared child is one instance and a cycle is a cycle. No recursion per
 * level or per object, so a chain of 10,000 containers loads without deepening the stack.
 * @returns the root (undefined when it is not stored) and every object made on the way.
 */
export async function loadGraph(
  ctx: LoadContext,
  info: TypeInfo,
  id: string,
  options: { dangling: DanglingMode; useCache: boolean },
): Promise<{ root: Serializable | undefined; loaded: Map<string, LoadedObject> }> {
  const loaded = new Map<string, LoadedObject>();
  /** Every object of the graph by key, once read: made, or (custom containers) data to build from. */
  const nodes = new Map<string, GraphNode>();
  /** Keys read and found missing. */
  const missing = new Set<string>();
  /** Objects the cache gave, by key. */
  const fromCache = new Map<string, Serializable>();

  let level: Array<{ info: TypeInfo; id: string }> = [{ info, id }];
  const queued = new Set<string>([objectKey(info.name, id)]);
  while (level.length > 0) {
    const byType = new Map<TypeInfo, string[]>();
    for (const item of level) {
      const ids = byType.get(item.info);
      if (ids) ids.push(item.id);
      else byType.set(item.info, [item.id]);
    }
    const read = await Promise.all([...byType].map(async ([type, ids]) => ({ type, ids, records: await ctx.backend.loadMany(type.name, ids) })));
    const next: Array<{ info: TypeInfo; id: string }> = [];
    for (const { type, ids, records } of read) {
      ids.forEach((objectId, i) => {
        const key = objectKey(type.name, objectId);
        const record = records[i];
        if (record === undefined) {
          missing.add(key);
          return;
        }
        const data = ctx.codec.decodeData(record.content, type, objectId);
        const refs = type.kind === 'container' ? findRefs(data) : [];
        const node: GraphNode = { info: type, id: objectId, data, refs, record };
        // A custom container is built from its resolved data, so only once its targets exist.
        if (!(refs.length > 0 && type.custom)) node.obj = ctx.codec.construct(type, objectId, data);
        nodes.set(key, node);
        for (const { ref } of refs) {
          const target = refKey(ref);
          if (queued.has(target)) continue;
          queued.add(target);
          const cached = options.useCache ? ctx.cached(ref.type, ref.id) : undefined;
          if (cached !== undefined) fromCache.set(target, cached);
          else next.push({ info: ctx.registry.resolve(ref.type), id: ref.id });
        }
      });
    }
    level = next;
  }

  const rootNode = nodes.get(objectKey(info.name, id));
  if (rootNode === undefined) return { root: undefined, loaded };

  /** The object a reference resolves to; `undefined` for a dangling one (checked before). */
  const targetOf = (ref: Ref): Serializable | undefined => {
    const key = refKey(ref);
    return fromCache.get(key) ?? nodes.get(key)?.obj;
  };
  const checkDangling = (node: GraphNode): void => {
    if (options.dangling !== 'error') return;
    for (const { ref, path } of node.refs) {
      if (missing.has(refKey(ref))) throw new DanglingReferenceError({ type: node.info.name, id: node.id }, path, { type: ref.type, id: ref.id });
    }
  };

  // Custom containers with references, built after their targets: depth first, on an explicit
  // stack. One that is reached again while it is being built is part of a cycle it cannot be in.
  const building = new Set<GraphNode>();
  for (const start of nodes.values()) {
    if (start.obj !== undefined) continue;
    const stack: GraphNode[] = [start];
    while (stack.length > 0) {
      const node = stack.at(-1)!;
      if (node.obj !== undefined) {
        stack.pop();
        continue;
      }
      building.add(node);
      const pending = node.refs.map(({ ref }) => nodes.get(refKey(ref))).find((target) => target !== undefined && target.obj === undefined && !fromCache.has(nodeKey(target)));
      if (pending !== undefined) {
        if (building.has(pending)) {
          throw new TypeError(
            `${pending.info.name} ${JSON.stringify(pending.id)} defines fromStorage and is part of a reference cycle; ` +
              `cuttle cannot build it before the objects that refer back to it`,
          );
        }
        stack.push(pending);
        continue;
      }
      checkDangling(node);
      node.obj = ctx.codec.construct(node.info, node.id, replaceRefs(node.data, targetOf));
      building.delete(node);
      stack.pop();
    }
  }

  for (const [key, node] of nodes) {
    if (!(node.refs.length > 0 && node.info.custom)) {
      checkDangling(node);
      if (node.refs.length > 0) replaceRefsInProperties(node.obj!, targetOf);
    }
    loaded.set(key, { obj: node.obj!, content: node.record.content, version: node.record.version });
  }
  return { root: rootNode.obj, loaded };
}

/** One object of a graph being loaded. */
interface GraphNode {
  readonly info: TypeInfo;
  readonly id: string;
  readonly data: unknown;
  readonly refs: FoundRef[];
  readonly record: StoredRecord;
  /** The object, once made. */
  obj?: Serializable;
}

function nodeKey(node: GraphNode): string {
  return objectKey(node.info.name, node.id);
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
