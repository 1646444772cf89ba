// The comparison harness (issue 8): one workload (bench/compare/workload.ts) on every cuttle
// backend, the raw ceilings and the libraries users would pick instead, at N = 1k, 10k, 100k
// (1M for SQLite and memory). Each contender and N runs in a child process of its own, so its
// peak RSS is its own. Prints ops/s with ratios to the raw ceiling measured in the same run, cuttle
// against each peer, the targets; writes JSON, Markdown tables and an SVG chart.
//
//   npm run bench                        the full run (~30 min); writes docs/bench/
//   npm run bench -- --quick             a smoke run (N = 1,000, small budgets; < 2 min)
//   npm run bench -- compare --only=cuttle-sqlite,raw-sqlite --scales=10000 [--json=x.json] [--svg=x.svg] [--md=x.md]
//   --repeat=3: every cell three times, in turn; each figure is the median of the runs
//   --tiny: a few dozen operations per cell (the test suite's smoke run); --dir=<folder for data>
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUDGETS, mergeRuns, runCell, type CellResult, type Mode } from './compare/cell.js';
import { chart } from './compare/chart.js';
import { CEILINGS, CONTENDERS, contender } from './compare/contenders/index.js';
import { markdownTables, noiseText, peerRows, peerText, scales, targets, targetText, textTables, type Results } from './compare/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const mode: Mode = args.includes('--tiny') ? 'tiny' : args.includes('--quick') ? 'quick' : 'full';
const budget = BUDGETS[mode];

if (flag('child')) {
  // A child: one contender at one N; the result is the last line of stdout.
  const result = await runCell(contender(flag('child')!), Number(flag('n')), flag('dir')!, budget, (line) => process.stderr.write(`    ${line}\n`));
  process.stdout.write('\n' + JSON.stringify(result) + '\n');
  process.exit(0);
}

const defaultScales = { full: [1_000, 10_000, 100_000, 1_000_000], quick: [1_000], tiny: [200] }[mode];
const wanted = flag('scales')?.split(',').map(Number) ?? defaultScales;
const only = flag('only')?.split(',');
const chosen = only ? only.map(contender) : CONTENDERS;
// Ceilings always run with what they are the ceiling of, so every ratio has its baseline.
const ceilings = new Set(chosen.map((c) => CEILINGS[c.family]));
const running = CONTENDERS.filter((c) => chosen.includes(c) || ceilings.has(c.key));
const base = resolve(flag('dir') ?? tmpdir());
mkdirSync(base, { recursive: true });
const childTimeoutMs = { full: 15 * 60_000, quick: 60_000, tiny: 30_000 }[mode];

const cpu = cpus();
const startedAt = new Date();
const results: Results = {
  machine: {
    cpu: cpu[0]?.model.trim() ?? 'unknown CPU',
    cores: cpu.length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    loadAverageStart: loadavg(),
    loadAverageEnd: [],
  },
  mode,
  commit: process.env.CUTTLE_BENCH_COMMIT ?? gitCommit(),
  startedAt: startedAt.toISOString(),
  seconds: 0,
  budget,
  contenders: running.map(({ key, name, family, kind, notes }) => ({ key, name, family, kind, notes, ceiling: CEILINGS[family] })),
  cells: [],
  failed: [],
};
const m = results.machine;
console.log(`${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, ${m.platform}; load average ${m.loadAverageStart.map((x) => x.toFixed(2)).join(' ')}`);
console.log(`mode ${mode}: ${budget.rounds} rounds per operation, each at most ${budget.roundMs} ms, ${budget.writes} writes or ${budget.reads} reads; batches of ${budget.batch}`);

// --repeat=R: every cell R times, in turn (each contender once, then again), so that a spell of
// load from other work on the machine hits one run of several contenders rather than every run
// of one; each operation's figure is then the median of the R runs.
const repeat = Number(flag('repeat') ?? 1);
if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a positive integer, got ${flag('repeat')}`);
const runs = new Map<string, CellResult[]>();

for (const n of wanted) {
  for (let run = 1; run <= repeat; run++) {
    for (const c of running) {
      if (mode === 'full' && n > c.maxN) continue;
      const dir = mkdtempSync(join(base, `cuttle-compare-${c.key}-`));
      const started = performance.now();
      process.stdout.write(`  ${c.name} at N = ${n.toLocaleString('en')}${repeat > 1 ? `, run ${run} of ${repeat}` : ''} ...\n`);
      // A large heap: at 1M documents the stores that hold everything in RAM need several GB.
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', '--max-old-space-size=12288', fileURLToPath(import.meta.url), `--child=${c.key}`, `--n=${n}`, `--dir=${dir}`, `--${mode}`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', mode === 'tiny' ? 'pipe' : 'inherit'],
        timeout: childTimeoutMs,
        maxBuffer: 64 << 20,
      });
      rmSync(dir, { recursive: true, force: true });
      // Flush dirty pages now, so that one cell's writes (100,000 files) are not written back to
      // disk while the next cell is measured.
      spawnSync('sync');
      const last = child.stdout?.trim().split('\n').at(-1) ?? '';
      if (child.status === 0 && last.startsWith('{')) {
        const key = `${c.key} ${n}`;
        runs.set(key, [...(runs.get(key) ?? []), JSON.parse(last) as CellResult]);
        process.stdout.write(`    done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
      } else {
        const error = child.error?.message ?? `exit ${child.status} ${child.signal ?? ''}: ${(child.stderr ?? '').slice(-500)}`;
        results.failed.push({ contender: c.key, n, error });
        console.log(`    FAILED: ${error}`);
      }
    }
  }
}
results.cells = [...runs.values()].map(mergeRuns);
results.machine.loadAverageEnd = loadavg();
results.seconds = (Date.now() - startedAt.getTime()) / 1000;

console.log(textTables(results));
console.log('\n* stopped at its time budget before covering every item: the rate is an upper bound (it only slows down past that point)');
console.log('\ncuttle over each peer (above 1: cuttle ahead; ! marks where it is behind)');
console.log(peerText(results));
console.log('\ntargets');
console.log(targetText(results));
console.log(`\nnoise: ${noiseText(results)}`);
console.log(`run took ${(results.seconds / 60).toFixed(1)} min`);

// A full run of every contender is the reference: it goes to docs/bench/. Other runs write only
// where asked.
const reference = mode === 'full' && !only && !flag('scales');
const outDir = join(here, '..', 'docs', 'bench');
const json = flag('json') ?? (reference ? join(outDir, 'results.json') : undefined);
const svg = flag('svg') ?? (reference ? join(outDir, 'chart.svg') : undefined);
const md = flag('md') ?? (reference ? join(outDir, 'results.md') : undefined);
const full = { ...results, targets: targets(results), peers: peerRows(results) };
for (const [path, text] of [
  [json, JSON.stringify(full, null, 1) + '\n'],
  [svg, svg ? chart(results, scales(results).includes(100_000) ? 100_000 : scales(results).at(-1)!) : ''],
  [md, md ? markdownDoc(results) : ''],
] as const) {
  if (!path) continue;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
process.exit(results.failed.length > 0 ? 1 : 0);

/** The commit measured, with `+changes` when the work tree differs from it. */
function gitCommit(): string | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit}+changes` : commit;
  } catch {
    return undefined;
  }
}

function markdownDoc(r: Results): string {
  const mm = r.machine;
  return [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/compare.bench.ts), mode ${r.mode}, ${r.startedAt}, commit ${r.commit ?? 'unknown'}. ${mm.cpu}, ${mm.cores} cores, ${mm.memoryGb} GB, Node ${mm.node}, ${mm.platform}. ` +
      `Each cell: ${budget.rounds} rounds, each at most ${budget.roundMs} ms and ${budget.writes} writes or ${budget.reads.toLocaleString('en')} reads; the median round` +
      (repeat > 1 ? `; every cell ran ${repeat} times, in turn, and each figure is the median run. ` : '. ') +
      'Figures are ops/s (list, export and import: items/s) and the ratio to the raw ceiling of the same family, measured in the same run. – : the contender has no such operation. ' +
      '*: stopped at its time budget before the end (an upper bound). See docs/performance.md for what each contender is.',
    '',
    `Noise: ${noiseText(r)}.`,
    markdownTables(r),
    '',
    '## Contenders',
    '',
    ...r.contenders.map((c) => `- **${c.name}** (\`${c.key}\`, ratio against \`${c.ceiling}\`): ${c.notes}`),
    '',
  ].join('\n');
}
