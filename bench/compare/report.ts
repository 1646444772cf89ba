// Turns the cells of a run into tables: ops/s with the ratio to the raw ceiling of the same run,
// cuttle against each peer on what both can do, and the targets of docs/performance.md.
import type { CellResult, OpResult } from './cell.js';
import { OPERATIONS, OPERATION_LABELS, type Contender, type Operation } from './contender.js';
import { CEILINGS } from './contenders/index.js';

export interface Results {
  machine: Machine;
  mode: string;
  /** The commit measured (`+changes`: with uncommitted changes under src/ or bench/). */
  commit: string | undefined;
  startedAt: string;
  seconds: number;
  budget: unknown;
  contenders: Array<Pick<Contender, 'key' | 'name' | 'family' | 'kind' | 'notes'> & { ceiling: string }>;
  cells: CellResult[];
  failed: Array<{ contender: string; n: number; error: string }>;
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  memoryGb: number;
  loadAverageStart: number[];
  loadAverageEnd: number[];
}

/** The cell of `key` at `n`, if it ran. */
export function cell(results: Results, key: string, n: number): CellResult | undefined {
  return results.cells.find((c) => c.contender === key && c.n === n);
}

/** The measurement of `op` by `key` at `n`, if it has one. */
export function op(results: Results, key: string, n: number, name: Operation): OpResult | undefined {
  const found = cell(results, key, n)?.ops[name];
  return found && !found.error ? found : undefined;
}

/** `value` over the raw ceiling's rate for the same operation and N, if both ran. */
export function ratio(results: Results, key: string, n: number, name: Operation): number | undefined {
  const info = results.contenders.find((c) => c.key === key);
  const mine = op(results, key, n, name);
  const base = info && op(results, info.ceiling, n, name);
  return mine && base ? mine.rate / base.rate : undefined;
}

export function formatRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(rate >= 1e7 ? 0 : 1)}M`;
  if (rate >= 1e4) return `${Math.round(rate / 1e3)}k`;
  if (rate >= 1e3) return `${(rate / 1e3).toFixed(1)}k`;
  if (rate >= 10) return String(Math.round(rate));
  return rate.toFixed(1);
}

function formatCell(results: Results, key: string, n: number, name: Operation): string {
  const found = cell(results, key, n)?.ops[name];
  if (found === undefined || found === null) return '–';
  if (found.error) return 'error';
  const r = ratio(results, key, n, name);
  return `${formatRate(found.rate)}${found.partial ? '*' : ''}${r === undefined ? '' : ` ${r.toFixed(2)}x`}`;
}

/** The scales that ran, ascending. */
export function scales(results: Results): number[] {
  return [...new Set(results.cells.map((c) => c.n))].sort((a, b) => a - b);
}

/** A plain-text table per N, for the terminal. */
export function textTables(results: Results): string {
  const lines: string[] = [];
  const heads = OPERATIONS.map((name) => SHORT[name]);
  for (const n of scales(results)) {
    lines.push('', `N = ${n.toLocaleString('en')}: ops/s (list, export, import: items/s), ratio to the raw ceiling of the same family; – = no such operation`);
    lines.push(['contender'.padEnd(28), ...heads.map((h) => h.padStart(14)), 'peak RSS'.padStart(10)].join(''));
    for (const info of results.contenders) {
      const found = cell(results, info.key, n);
      if (!found) continue;
      lines.push([info.name.padEnd(28), ...OPERATIONS.map((name) => formatCell(results, info.key, n, name).padStart(14)), `${Math.round(found.peakRssMb)} MB`.padStart(10)].join(''));
    }
  }
  return lines.join('\n');
}

const SHORT: Record<Operation, string> = {
  save: 'save',
  saveMany: 'batch/doc',
  loadCold: 'load cold',
  loadWarm: 'load warm',
  exists: 'exists',
  list: 'list 1st/id',
  listAgain: 'again/id',
  delete: 'delete',
  export: 'export/rec',
  import: 'import/rec',
  graphSave: 'graph save',
  graphLoad: 'graph load',
};

/** Markdown tables per N (docs/bench/results.md). */
export function markdownTables(results: Results): string {
  const out: string[] = [];
  for (const n of scales(results)) {
    out.push('', `### N = ${n.toLocaleString('en')}`, '');
    out.push(`| contender | ${OPERATIONS.map((name) => OPERATION_LABELS[name]).join(' | ')} | peak RSS |`);
    out.push(`| --- | ${OPERATIONS.map(() => '---:').join(' | ')} | ---: |`);
    for (const info of results.contenders) {
      const found = cell(results, info.key, n);
      if (!found) continue;
      out.push(`| ${info.name} | ${OPERATIONS.map((name) => formatCell(results, info.key, n, name)).join(' | ')} | ${Math.round(found.peakRssMb)} MB |`);
    }
  }
  return out.join('\n');
}

/** Which cuttle store each peer is compared with, and why that is like with like. */
export const PAIRS: Array<{ cuttle: string; peer: string; why: string }> = [
  { cuttle: 'cuttle-sqlite', peer: 'keyv-sqlite', why: 'both SQLite files; keyv has no cache, so loads are cold against cold (cuttle: cache bypassed); keyv fsyncs every save (FULL), cuttle runs WAL + NORMAL' },
  { cuttle: 'cuttle-memory', peer: 'unstorage-memory', why: 'both keep serialized documents in a Map and parse on every cold load; unstorage turns the Date into a string' },
  { cuttle: 'cuttle-memory', peer: 'unstorage-memory-superjson', why: 'both keep serialized documents in a Map and give the Date back as a Date' },
  { cuttle: 'cuttle-file-nosync', peer: 'unstorage-fs', why: 'a file per document, neither fsyncs (unstorage writes in place, cuttle atomically with a lock and a version)' },
  { cuttle: 'cuttle-file-ram', peer: 'lowdb', why: 'neither fsyncs; both hold every document in RAM (cuttle in its cache), so loads are from RAM on both sides' },
  { cuttle: 'cuttle-file-ram', peer: 'nedb', why: 'neither fsyncs; both hold every document in RAM (cuttle in its cache), so loads are from RAM on both sides' },
  { cuttle: 'cuttle-sqlite-ram', peer: 'lowdb', why: 'an embedded store on disk; both hold every document in RAM (cuttle in its cache)' },
  { cuttle: 'cuttle-sqlite-ram', peer: 'nedb', why: 'an embedded store on disk; both hold every document in RAM (cuttle in its cache)' },
];

export interface PeerRow {
  cuttle: string;
  peer: string;
  n: number;
  op: Operation;
  /** cuttle's rate over the peer's: above 1, cuttle is ahead. */
  ratio: number;
  /** The peer stopped at its time budget; the ratio is a lower bound. */
  partial?: boolean;
}

/** cuttle over each peer, for every operation both measured, at every N both ran. */
export function peerRows(results: Results): PeerRow[] {
  const rows: PeerRow[] = [];
  for (const { cuttle, peer } of PAIRS) {
    for (const n of scales(results)) {
      for (const name of OPERATIONS) {
        const a = op(results, cuttle, n, name);
        const b = op(results, peer, n, name);
        // A peer stopped at its time budget (partial) only got slower past that point: its rate is an upper bound.
        if (a && b) rows.push({ cuttle, peer, n, op: name, ratio: a.rate / b.rate, ...(b.partial ? { partial: true } : {}) });
      }
    }
  }
  return rows;
}

export interface Target {
  what: string;
  n: number;
  measured: number | undefined;
  target: number;
  unit: 'x' | '/s';
  met: boolean | undefined;
}

/** The targets of issues 4, 6 and 8, at each N where their contenders ran. */
export function targets(results: Results): Target[] {
  const out: Target[] = [];
  const rate = (key: string, n: number, name: Operation) => op(results, key, n, name)?.rate;
  const over = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a / b : undefined);
  for (const n of scales(results)) {
    const add = (what: string, measured: number | undefined, target: number, unit: 'x' | '/s' = 'x') =>
      out.push({ what, n, measured, target, unit, met: measured === undefined ? undefined : measured >= target });
    if (!cell(results, 'raw-sqlite', n) || !cell(results, 'cuttle-sqlite-nocache', n)) continue;
    add('SQLite save (cache: false) / raw autocommit insert', over(rate('cuttle-sqlite-nocache', n, 'save'), rate('raw-sqlite', n, 'save')), 0.7);
    add('SQLite saveMany (cache: false) / raw one-transaction batch', over(rate('cuttle-sqlite-nocache', n, 'saveMany'), rate('raw-sqlite', n, 'saveMany')), 0.6);
    add('SQLite load, cache: false / raw select + JSON.parse', over(rate('cuttle-sqlite-nocache', n, 'loadCold'), rate('raw-sqlite', n, 'loadCold')), 0.7);
    add('SQLite warm load', rate('cuttle-sqlite', n, 'loadWarm'), 1e6, '/s');
    add('SQLite warm load / cold load (cache bypassed), same store', over(rate('cuttle-sqlite', n, 'loadWarm'), rate('cuttle-sqlite', n, 'loadCold')), 10);
    if (cell(results, 'keyv-sqlite', n)) {
      add('SQLite save / keyv.set', over(rate('cuttle-sqlite', n, 'save'), rate('keyv-sqlite', n, 'save')), 10);
      add('SQLite load (cache bypassed) / keyv.get', over(rate('cuttle-sqlite', n, 'loadCold'), rate('keyv-sqlite', n, 'loadCold')), 5);
    }
  }
  return out;
}

export function targetText(results: Results): string {
  return targets(results)
    .map((t) => {
      const value = t.measured === undefined ? 'n/a' : t.unit === 'x' ? `${t.measured.toFixed(2)}x` : `${formatRate(t.measured)}/s`;
      const goal = t.unit === 'x' ? `${t.target}x` : `${formatRate(t.target)}/s`;
      return `  N=${t.n.toLocaleString('en').padEnd(9)} ${t.what.padEnd(60)} ${value.padStart(8)}  (>= ${goal}: ${t.met === undefined ? 'not measured' : t.met ? 'met' : 'NOT MET'})`;
    })
    .join('\n');
}

export function peerText(results: Results): string {
  const lines: string[] = [];
  for (const { cuttle, peer, why } of PAIRS) {
    const rows = peerRows(results).filter((r) => r.cuttle === cuttle && r.peer === peer);
    if (rows.length === 0) continue;
    lines.push(`  ${cuttle} vs ${peer} (${why})`);
    for (const n of [...new Set(rows.map((r) => r.n))]) {
      const cells = rows.filter((r) => r.n === n).map((r) => `${SHORT[r.op]} ${r.ratio >= 1 ? '' : '!'}${r.ratio.toFixed(r.ratio >= 100 ? 0 : 2)}x`);
      lines.push(`    N=${n.toLocaleString('en').padEnd(9)} ${cells.join('  ')}`);
    }
  }
  return lines.join('\n');
}

export function noiseText(results: Results): string {
  const spreads = results.cells.flatMap((c) => Object.values(c.ops).filter((o): o is OpResult => !!o && !o.error && o.rounds.length > 1).map((o) => o.spread));
  const runs = Math.max(1, ...results.cells.map((c) => c.runs ?? 1));
  const what = runs > 1 ? `spread of the ${runs} runs of each cell` : 'spread of the rounds';
  spreads.sort((a, b) => a - b);
  const pick = (q: number) => spreads[Math.min(spreads.length - 1, Math.floor(q * spreads.length))] ?? 0;
  const { loadAverageStart: s, loadAverageEnd: e } = results.machine;
  return (
    `${what} ((max - min) / median) over ${spreads.length} measurements: median ${(pick(0.5) * 100).toFixed(0)}%, ` +
    `90th percentile ${(pick(0.9) * 100).toFixed(0)}%; load average ${s.map((x) => x.toFixed(2)).join(' ')} at the start, ${e.map((x) => x.toFixed(2)).join(' ')} at the end`
  );
}

export { CEILINGS };
