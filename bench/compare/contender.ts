// What the harness asks of each way of storing the workload. A contender implements the
// operations it has; a missing one is reported as a dash, never as a number.

/** The operations of the comparison, in table order. */
export const OPERATIONS = [
  'save',
  'saveMany',
  'loadCold',
  'loadWarm',
  'exists',
  'list',
  'listAgain',
  'delete',
  'export',
  'import',
  'graphSave',
  'graphLoad',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** How each operation reads in tables. */
export const OPERATION_LABELS: Record<Operation, string> = {
  save: 'save (one at a time)',
  saveMany: 'batch save, per doc',
  loadCold: 'load by id, cold',
  loadWarm: 'load by id, warm',
  exists: 'exists',
  list: 'list ids (first), per id',
  listAgain: 'list ids (again), per id',
  delete: 'delete',
  export: 'export all, per record',
  import: 'import all, per record',
  graphSave: 'graph save (11 objects)',
  graphLoad: 'graph load (11 objects)',
};

/** Operations whose one call covers the whole collection: rated in items per second. */
export const WHOLE: ReadonlySet<Operation> = new Set(['list', 'listAgain', 'export', 'import']);

/** Which raw ceiling a contender is measured against. */
export type Family = 'memory' | 'sqlite' | 'files-durable' | 'files';

/** A running store of one contender in one child process, holding N documents once seeded. */
export interface Instance {
  /** Stores documents 0..n-1 (not measured); documents are made in chunks, never all at once. */
  seed(n: number): Promise<void>;
  /** The input of a save of document `i` (built before the clock starts). */
  make(i: number): unknown;
  save?(item: unknown): unknown;
  saveMany?(items: unknown[]): unknown;
  /** Reads the stored copy (no cache): decoded, a new object each time. The harness reads its title. */
  loadCold?(id: string): unknown;
  /** Reads through a cache, or from RAM for a store that holds everything there. The harness reads its title. */
  loadWarm?(id: string): unknown;
  /** Called once with the warm set before loadWarm is measured. */
  warm?(ids: string[]): Promise<void>;
  exists?(id: string): unknown;
  /**
   * Every id, sorted; may stop at `deadline` (ms, performance.now) and say it did. Measured twice:
   * `list` after {@link Instance.beforeList}, and `listAgain` right after another list.
   */
  list?(deadline: number): Promise<{ count: number; partial?: boolean }>;
  /**
   * Before each round of `list`, not measured: forgets what is held in RAM, as in a process that
   * has just opened the store (cuttle: empties its cache; lowdb, nedb: drop their in-RAM copy, so
   * the list reads the file as their open does).
   */
  beforeList?(): Promise<void>;
  delete?(id: string): unknown;
  /** Writes every record to `path`. @returns the count. */
  exportAll?(path: string): Promise<number>;
  /** Writes a dump of documents 0..count-1 in this contender's own format (not measured). */
  prepareImport?(path: string, count: number): Promise<void>;
  /** Imports the dump at `path` into a new, empty store under `dir`. @returns the count. */
  importAll?(path: string, dir: string): Promise<number>;
  /** The input of a graph save: a folder `g` holding GRAPH_SIZE new documents from `first`. */
  makeGraph?(g: number, first: number): unknown;
  graphSave?(graph: unknown): unknown;
  /** Loads folder `g` and its documents, bypassing any cache. */
  graphLoad?(g: number): unknown;
  close(): Promise<void>;
}

/** One contender: its name, what it is, and how to open it in a folder. */
export interface Contender {
  /** Short stable key, used on the command line (`--only=`) and in the JSON. */
  key: string;
  /** The name in tables. */
  name: string;
  family: Family;
  /** 'cuttle' | 'raw' (a ceiling) | 'peer'. */
  kind: 'cuttle' | 'raw' | 'peer';
  /** Package versions, durability, rich types: what a reader needs to compare fairly. */
  notes: string;
  /** Largest N it runs at in a full run. */
  maxN: number;
  /** Import dumps of at most this many records (to bound the run). */
  importCap?: number;
  open(dir: string): Promise<Instance>;
}
