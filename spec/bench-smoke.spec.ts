// The comparison harness (bench/compare.bench.ts) in its tiny mode: a few dozen operations per
// cell, one small N, a few contenders, in a temp folder. Not a benchmark: it checks that the
// harness still runs and writes well-formed results, so it never rots between full runs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeRuns, type CellResult } from '../bench/compare/cell.js';
import { tempDir } from './helpers.js';

const HARNESS = fileURLToPath(new URL('../bench/compare.bench.ts', import.meta.url));
const OPERATIONS = ['save', 'saveMany', 'loadCold', 'loadWarm', 'exists', 'list', 'listAgain', 'delete', 'export', 'import', 'graphSave', 'graphLoad'];

interface Op {
  rate: number;
  spread: number;
  rounds: number[];
  count: number;
  error?: string;
}
interface Results {
  machine: { cpu: string; cores: number; node: string; loadAverageStart: number[]; loadAverageEnd: number[] };
  mode: string;
  contenders: Array<{ key: string; ceiling: string; kind: string }>;
  cells: Array<{ contender: string; n: number; peakRssMb: number; ops: Record<string, Op | null> }>;
  failed: unknown[];
  targets: Array<{ what: string; measured?: number; met?: boolean }>;
  peers: Array<{ cuttle: string; peer: string; op: string; ratio: number }>;
}

const test = suite('bench smoke (tiny harness run)');
const dir = tempDir('cuttle-bench-smoke-');
let output = '';
let results: Results;

test.before(() => {
  const child = spawnSync(
    process.execPath,
    [
      '--import', 'tsx', HARNESS, '--tiny',
      '--only=cuttle-sqlite,cuttle-sqlite-nocache,cuttle-sqlite-ram,lowdb', '--scales=200',
      `--dir=${dir.path}`, `--json=${join(dir.path, 'results.json')}`, `--svg=${join(dir.path, 'chart.svg')}`, `--md=${join(dir.path, 'results.md')}`,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  output = child.stdout + child.stderr;
  assert.is(child.status, 0, `the harness failed:\n${output.slice(-3000)}`);
  results = JSON.parse(readFileSync(join(dir.path, 'results.json'), 'utf8')) as Results;
});

test.after(() => dir.remove());

test('records the machine and the mode', () => {
  assert.is(results.mode, 'tiny');
  assert.ok(results.machine.cpu.length > 0);
  assert.ok(results.machine.cores >= 1);
  assert.is(results.machine.node, process.version);
  assert.is(results.machine.loadAverageEnd.length, 3);
  assert.equal(results.failed, []);
});

test('runs the chosen contenders and the raw ceilings they are measured against', () => {
  const keys = results.cells.map((c) => c.contender).sort();
  assert.equal(keys, ['cuttle-sqlite', 'cuttle-sqlite-nocache', 'cuttle-sqlite-ram', 'lowdb', 'raw-files', 'raw-sqlite']);
  for (const c of results.contenders) assert.ok(results.contenders.some((d) => d.key === c.ceiling), `${c.key}'s ceiling ${c.ceiling} ran`);
  for (const c of results.cells) {
    assert.is(c.n, 200);
    assert.ok(c.peakRssMb > 10 && c.peakRssMb < 4096, `${c.contender}: peak RSS ${c.peakRssMb} MB`);
    assert.equal(Object.keys(c.ops), OPERATIONS);
  }
});

test('every measured operation has a positive median rate and its rounds; a missing one is null', () => {
  for (const c of results.cells) {
    for (const [name, op] of Object.entries(c.ops)) {
      if (op === null) continue;
      assert.is(op.error, undefined, `${c.contender} ${name}: ${op.error}`);
      assert.ok(op.rate > 0 && Number.isFinite(op.rate), `${c.contender} ${name}: rate ${op.rate}`);
      assert.ok(op.rounds.length >= 1 && op.count >= 1, `${c.contender} ${name}: rounds`);
      const sorted = [...op.rounds].sort((a, b) => a - b);
      assert.is(op.rate, sorted[Math.floor(sorted.length / 2)], `${c.contender} ${name}: the rate is the median round`);
    }
  }
  const cell = (key: string) => results.cells.find((c) => c.contender === key)!;
  for (const name of OPERATIONS) assert.ok(cell('cuttle-sqlite').ops[name], `cuttle SQLite measures ${name}`);
  assert.is(cell('cuttle-sqlite-nocache').ops.loadWarm, null, 'no warm loads without a cache');
  for (const name of ['loadCold', 'export', 'import', 'graphSave', 'graphLoad']) assert.is(cell('lowdb').ops[name], null, `lowdb has no ${name}`);
});

test('reports targets and cuttle-against-peer ratios', () => {
  assert.ok(results.targets.length >= 5);
  for (const t of results.targets) assert.ok(t.measured === undefined || t.measured > 0, t.what);
  // lowdb holds everything in RAM: it is compared with the cuttle store whose cache holds everything.
  assert.ok(results.peers.some((p) => p.cuttle === 'cuttle-sqlite-ram' && p.peer === 'lowdb' && p.op === 'exists' && p.ratio > 0));
  assert.not.ok(results.peers.some((p) => p.cuttle === 'cuttle-sqlite' && p.peer === 'lowdb'));
  assert.match(output, /ratio to the raw ceiling/);
  assert.match(output, /raw better-sqlite3 .* 1\.00x/);
});

test('writes an SVG chart and Markdown tables', () => {
  const svg = readFileSync(join(dir.path, 'chart.svg'), 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.match(svg, /cuttle SQLite/);
  assert.ok((svg.match(/<rect /g) ?? []).length > 10, 'bars drawn');
  const md = readFileSync(join(dir.path, 'results.md'), 'utf8');
  assert.match(md, /### N = 200/);
  assert.match(md, /\| cuttle SQLite \|/);
});

test.run();

const repeats = suite('bench: --repeat merges the runs of a cell');

repeats('per operation the median run, the runs as its rounds, the highest peak RSS; failed runs left out', () => {
  const run = (save: number, exists: { rate: number } | { error: string }, peakRssMb: number): CellResult => ({
    contender: 'c',
    n: 10,
    seedSeconds: 1,
    peakRssMb,
    baseRssMb: 90,
    ops: {
      save: { rate: save, spread: 0.1, rounds: [save], count: 100 },
      exists: 'error' in exists ? { rate: 0, spread: 0, rounds: [], count: 0, error: exists.error } : { ...exists, spread: 0, rounds: [exists.rate], count: 50 },
      loadWarm: null,
      list: { rate: 7, spread: 0, rounds: [7], count: 5, items: 1000, partial: true },
    },
  });
  const merged = mergeRuns([run(10, { rate: 4 }, 300), run(30, { error: 'boom' }, 500), run(20, { rate: 6 }, 400)]);
  assert.is(merged.runs, 3);
  assert.is(merged.peakRssMb, 500);
  assert.equal(merged.ops.save, { rate: 20, spread: 1, rounds: [10, 30, 20], count: 300 });
  assert.equal(merged.ops.exists?.rounds, [4, 6], 'the failed run is left out');
  assert.is(merged.ops.exists?.rate, 6);
  assert.is(merged.ops.loadWarm, null);
  assert.equal(merged.ops.list, { rate: 7, spread: 0, rounds: [7, 7, 7], count: 15, items: 1000, partial: true });
  const allFailed = mergeRuns([run(1, { error: 'first' }, 1), run(2, { error: 'second' }, 1)]);
  assert.is(allFailed.ops.exists?.error, 'first');
  assert.is(mergeRuns([run(5, { rate: 1 }, 1)]).runs, undefined, 'one run is returned as it is');
});

repeats.run();
