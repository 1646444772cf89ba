// One cell of the comparison: one contender at one N, in a process of its own (so its peak RSS
// is its own). Seeds N documents, then measures every operation the contender has, in rounds,
// each round bounded by an op cap and a time budget; the rate of an operation is the median of
// its rounds' rates, with their spread.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { GRAPH_SIZE, docId } from './workload.js';
import { OPERATIONS, WHOLE, type Contender, type Instance, type Operation } from './contender.js';

/** How much each cell measures. */
export interface Budget {
  rounds: number;
  /** Wall time one round of an operation may take, in ms (a round stops after the op that passes it). */
  roundMs: number;
  /** Most single writes (save, delete; graph saves count GRAPH_SIZE + 1) per round. */
  writes: number;
  /** Most single reads (loads, exists) per round. */
  reads: number;
  /** Documents per batch save. */
  batch: number;
  /** Documents in the warm set (the default cache holds 10,000). */
  warm: number;
}

export const BUDGETS = {
  full: { rounds: 5, roundMs: 400, writes: 5_000, reads: 200_000, batch: 1_000, warm: 10_000 },
  quick: { rounds: 3, roundMs: 80, writes: 300, reads: 10_000, batch: 100, warm: 1_000 },
  tiny: { rounds: 2, roundMs: 40, writes: 20, reads: 40, batch: 10, warm: 20 },
} satisfies Record<string, Budget>;
export type Mode = keyof typeof BUDGETS;

/** What one operation measured. */
export interface OpResult {
  /** Median over rounds: operations per second (whole-collection operations: items per second). */
  rate: number;
  /** (max - min) / median of the rounds' rates. */
  spread: number;
  rounds: number[];
  /** Operations (or items) measured in all. */
  count: number;
  /** Whole-collection operations: how many items one call covered. */
  items?: number;
  /** The operation stopped at its time budget before covering every item. */
  partial?: boolean;
  error?: string;
}

export interface CellResult {
  contender: string;
  n: number;
  /** With `--repeat`: how many runs (child processes) this cell merges. */
  runs?: number;
  seedSeconds: number;
  /** Peak resident set size of the process, MB (includes the harness's own ~60-90 MB). */
  peakRssMb: number;
  /** RSS before the store was opened, MB: the harness alone. */
  baseRssMb: number;
  ops: Partial<Record<Operation, OpResult | null>>;
}

const now = () => performance.now();

/**
 * Several runs of one cell (`--repeat`), each in a process of its own, as one: per operation the
 * median of the runs' rates, with `rounds` holding each run's rate, so `spread` is the spread
 * between runs; the highest peak RSS. A run whose operation failed is left out of that
 * operation's median; an operation that failed in every run keeps the first error.
 */
export function mergeRuns(runs: readonly CellResult[]): CellResult {
  const [first] = runs;
  if (!first) throw new Error('mergeRuns: no runs');
  if (runs.length === 1) return first;
  const ops: CellResult['ops'] = {};
  for (const op of Object.keys(first.ops) as Operation[]) {
    const results = runs.map((run) => run.ops[op]);
    const good = results.filter((r): r is OpResult => !!r && !r.error);
    if (good.length === 0) {
      ops[op] = results.find((r) => r?.error) ?? null;
      continue;
    }
    const rates = good.map((r) => r.rate);
    const count = good.reduce((sum, r) => sum + r.count, 0);
    const partial = good.some((r) => r.partial);
    const items = good[0]!.items;
    ops[op] = summarize(rates, count, { ...(items !== undefined ? { items } : {}), ...(partial ? { partial } : {}) });
  }
  return {
    contender: first.contender,
    n: first.n,
    runs: runs.length,
    seedSeconds: median(runs.map((run) => run.seedSeconds)),
    peakRssMb: Math.max(...runs.map((run) => run.peakRssMb)),
    baseRssMb: median(runs.map((run) => run.baseRssMb)),
    ops,
  };
}

/**
 * Writes every dirty page to disk (`sync`), outside the clock, so that the writeback of what was
 * seeded or removed before an operation does not land inside its rounds. (It does not remove
 * every swing: file creates here still changed speed by up to 8x between minutes.)
 */
function settleDisk(): void {
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {
    // No sync command (Windows): the rounds take their chances.
  }
}

/** Promises and other thenables (nedb's queries are lazy cursors that run when awaited). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** The middle value (the upper one of the two middle values of an even count). */
function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

function summarize(rates: number[], count: number, extra: Partial<OpResult> = {}): OpResult {
  const middle = median(rates);
  const spread = middle > 0 ? (Math.max(...rates) - Math.min(...rates)) / middle : 0;
  return { rate: middle, spread, rounds: rates, count, ...extra };
}

/**
 * What a caller does with a loaded document: reads it (its title). Every contender's loads pay
 * for this, so one that returns a reference without reading the document is not rated on work
 * its caller does next; and a load that returned no document fails the operation.
 */
function readDocument(doc: unknown): void {
  if (typeof (doc as { title?: unknown } | null | undefined)?.title !== 'string') {
    throw new Error(`a load returned ${doc === undefined || doc === null ? 'no document' : 'a document without its title'}`);
  }
}

/**
 * Runs `fn` on each prepared input, round by round, within the op cap and the time budget;
 * `use` gets each result (awaited), inside the clock.
 */
async function perOp<T>(
  budget: Budget,
  prepare: (cap: number) => T[] | Promise<T[]>,
  fn: (input: T) => unknown,
  cap: number,
  weight = 1,
  done: (inputs: T[]) => void = () => {},
  use?: (result: unknown) => void,
): Promise<OpResult> {
  const rates: number[] = [];
  let total = 0;
  // Warm-up, not measured: up to 200 operations or a quarter of a round's time, so the first
  // round does not pay for compiling the code paths.
  const warmUp = await prepare(Math.min(cap, 200));
  const warmStop = now() + budget.roundMs / 4;
  let warmed = 0;
  while (warmed < warmUp.length) {
    const result = fn(warmUp[warmed++]!);
    const value = isThenable(result) ? await result : result;
    use?.(value);
    if (now() > warmStop) break;
  }
  done(warmUp.slice(0, warmed));
  for (let round = 0; round < budget.rounds; round++) {
    const inputs = await prepare(cap);
    if (inputs.length === 0) break;
    globalThis.gc?.();
    const start = now();
    const stop = start + budget.roundMs;
    let k = 0;
    while (k < inputs.length) {
      const result = fn(inputs[k]!);
      const value = isThenable(result) ? await result : result;
      use?.(value);
      k++;
      // Reading the clock costs ~40 ns: every op at first, then every 16th.
      if ((k < 64 || (k & 15) === 0) && now() > stop) break;
    }
    const seconds = (now() - start) / 1000;
    done(inputs.slice(0, k));
    rates.push((k * weight) / seconds);
    total += k * weight;
  }
  return summarize(rates, total);
}

/**
 * Runs a whole-collection operation round by round until the rounds or the budget run out;
 * `before` runs ahead of each round, outside the clock.
 */
async function whole(
  budget: Budget,
  fn: (round: number, deadline: number) => Promise<{ count: number; partial?: boolean }>,
  before?: () => Promise<void>,
): Promise<OpResult> {
  const rates: number[] = [];
  let total = 0;
  let items = 0;
  let partial = false;
  const stop = now() + budget.roundMs * budget.rounds;
  for (let round = 0; round < budget.rounds && (round === 0 || now() < stop); round++) {
    await before?.();
    globalThis.gc?.();
    const start = now();
    const result = await fn(round, start + budget.roundMs * budget.rounds);
    rates.push(result.count / ((now() - start) / 1000));
    total += result.count;
    items = result.count;
    partial ||= result.partial === true;
    if (partial) break;
  }
  return summarize(rates, total, { items, ...(partial ? { partial } : {}) });
}

/** Measures every operation of `contender` with N = `n` documents in `dir`. */
export async function runCell(contender: Contender, n: number, dir: string, budget: Budget, log: (line: string) => void): Promise<CellResult> {
  const baseRssMb = process.memoryUsage.rss() / 2 ** 20;
  const store: Instance = await contender.open(dir);
  const seedStart = now();
  await store.seed(n);
  const seedSeconds = (now() - seedStart) / 1000;
  settleDisk();
  log(`seeded ${n} in ${seedSeconds.toFixed(1)} s`);

  const random = (count: number, below: number) => Array.from({ length: count }, () => docId(Math.floor(Math.random() * below)));
  let fresh = n; // next new document number
  const created: string[] = [];
  let seededLeft = n; // seeded documents not deleted yet, taken from the top when created ones run out
  let folders = 0; // graph folders made
  const savedFolders: number[] = [];
  const warmCount = Math.min(n, budget.warm);
  const importCount = Math.min(n, contender.importCap ?? n);
  const ops: CellResult['ops'] = {};

  const plan: Record<Operation, (() => Promise<OpResult>) | undefined> = {
    loadCold: store.loadCold && (() => perOp(budget, (cap) => random(cap, n), store.loadCold!, budget.reads, 1, undefined, readDocument)),
    loadWarm: store.loadWarm && (async () => {
      await store.warm?.(Array.from({ length: warmCount }, (_, i) => docId(i)));
      return perOp(budget, (cap) => random(cap, warmCount), store.loadWarm!, budget.reads, 1, undefined, readDocument);
    }),
    exists: store.exists && (() => perOp(budget, (cap) => random(cap, n), store.exists!, budget.reads)),
    // The first list (nothing kept from an earlier one), then a list right after another.
    list: store.list && (() => whole(budget, (_round, deadline) => store.list!(deadline), store.beforeList && (() => store.beforeList!()))),
    listAgain: store.list && (async () => {
      await store.list!(now() + budget.roundMs * budget.rounds);
      return whole(budget, (_round, deadline) => store.list!(deadline));
    }),
    save: store.save && (() => {
      const made = new Map<unknown, string>();
      const make = () => {
        const item = store.make(fresh);
        made.set(item, docId(fresh++));
        return item;
      };
      return perOp(budget, (cap) => Array.from({ length: cap }, make), store.save!, budget.writes, 1, (used) => used.forEach((item) => created.push(made.get(item)!)));
    }),
    saveMany: store.saveMany && (() => {
      const batches = new Map<unknown, string[]>();
      const makeBatch = () => {
        const ids = Array.from({ length: budget.batch }, (_, k) => docId(fresh + k));
        const batch = ids.map(() => store.make(fresh++));
        batches.set(batch, ids);
        return batch;
      };
      const cap = Math.max(1, Math.floor(budget.writes / budget.batch));
      return perOp(budget, (count) => Array.from({ length: count }, makeBatch), store.saveMany!, cap, budget.batch, (used) => used.forEach((batch) => created.push(...batches.get(batch)!)));
    }),
    delete: store.delete && (() => perOp(budget, async (cap) => {
      // Deletes take what the saves made, then seeded documents from the top; when a fast delete
      // would run out, more are saved first, outside the clock.
      if (created.length + seededLeft < cap && store.saveMany) {
        for (let left = cap - created.length; left > 0; left -= budget.batch) {
          const batch = Array.from({ length: Math.min(left, budget.batch) }, () => {
            created.push(docId(fresh));
            return store.make(fresh++);
          });
          const result = store.saveMany(batch);
          if (isThenable(result)) await result;
        }
      }
      return Array.from({ length: Math.min(cap, created.length + seededLeft) }, () => created.pop() ?? docId(--seededLeft));
    }, store.delete!, budget.writes)),
    graphSave: store.graphSave && (() => {
      const numbers = new Map<unknown, number>();
      const makeGraph = () => {
        const graph = store.makeGraph!(folders, fresh);
        numbers.set(graph, folders++);
        fresh += GRAPH_SIZE;
        return graph;
      };
      const cap = Math.max(1, Math.floor(budget.writes / (GRAPH_SIZE + 1)));
      return perOp(budget, (count) => Array.from({ length: count }, makeGraph), store.graphSave!, cap, 1, (used) => used.forEach((graph) => savedFolders.push(numbers.get(graph)!)));
    }),
    graphLoad: store.graphLoad && (() => perOp(budget, (cap) => (savedFolders.length === 0 ? [] : Array.from({ length: cap }, () => savedFolders[Math.floor(Math.random() * savedFolders.length)]!)), store.graphLoad!, budget.reads)),
    export: store.exportAll && (() => whole(budget, async () => {
      const path = join(dir, 'export.dump');
      const count = await store.exportAll!(path);
      rmSync(path, { force: true });
      return { count };
    })),
    import: store.importAll && (async () => {
      const path = join(dir, 'import.dump');
      await store.prepareImport!(path, importCount);
      // Each round imports into a new store; the one before is removed ahead of the next round,
      // outside the clock (removing 10,000 files is not the import's work).
      let previous: string | undefined;
      const removePrevious = async () => {
        if (previous === undefined) return;
        rmSync(previous, { recursive: true, force: true });
        previous = undefined;
        settleDisk();
      };
      const result = await whole(budget, async (round) => {
        previous = join(dir, `import-${round}`);
        return { count: await store.importAll!(path, previous) };
      }, removePrevious);
      await removePrevious();
      return result;
    }),
  };
  const order: Operation[] = ['loadCold', 'loadWarm', 'exists', 'list', 'listAgain', 'save', 'saveMany', 'delete', 'graphSave', 'graphLoad', 'export', 'import'];
  for (const op of order) {
    const run = plan[op];
    if (!run) {
      ops[op] = null;
      continue;
    }
    try {
      ops[op] = await run();
      log(`${op}: ${Math.round(ops[op]!.rate)}/s`);
    } catch (error) {
      ops[op] = { rate: 0, spread: 0, rounds: [], count: 0, error: (error as Error).message.slice(0, 300) };
      log(`${op}: FAILED ${(error as Error).message}`);
    }
  }
  await store.close();
  const sorted: CellResult['ops'] = {};
  for (const op of OPERATIONS) sorted[op] = ops[op] ?? null;
  return { contender: contender.key, n, seedSeconds, peakRssMb: process.resourceUsage().maxRSS / 1024, baseRssMb, ops: sorted };
}

export { WHOLE };
