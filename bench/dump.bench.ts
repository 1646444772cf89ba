// Streaming dumps in constant memory: a SQLite store of 1,000,000 ~1 KB objects (100,000 with
// --quick) is exported to NDJSON and imported into a new file, each step in a fresh process whose
// peak RSS is reported. Target: under ~200 MB at any size.
//
//   npm run bench -- dump [--quick]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteBackend } from '../dist/backends/sqlite.js';
import { Store } from '../dist/index.js';
import { machine, quick } from './harness.js';
import { documentJson } from './sqlite-data.js';

const phase = process.argv.find((arg) => arg.startsWith('--phase='))?.slice('--phase='.length);
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? '';

/** Peak resident set size of this process so far, in MB. */
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

async function child(): Promise<void> {
  const started = performance.now();
  if (phase === 'seed') {
    const backend = new SqliteBackend({ path: arg('db') });
    const n = Number(arg('n'));
    for (let start = 0; start < n; start += 10_000) {
      const writes = [];
      for (let i = start; i < Math.min(n, start + 10_000); i++) {
        writes.push({ type: 'Doc', id: `doc-${String(i).padStart(7, '0')}`, kind: 'object' as const, content: `{"json":${documentJson(i)}}` });
      }
      await backend.writeMany(writes);
    }
    await backend.close();
  } else if (phase === 'export') {
    const store = new Store({ backend: new SqliteBackend({ path: arg('db') }), cache: false });
    await store.exportTo(arg('out'));
    await store.close();
  } else if (phase === 'import') {
    const store = new Store({ backend: new SqliteBackend({ path: arg('db') }), cache: false });
    await store.importFrom(arg('in'));
    await store.close();
  }
  console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, peakRssMb: peakRssMb() }));
}

function run(args: string[]): { seconds: number; peakRssMb: number } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!);
}

async function main(): Promise<void> {
  const n = quick ? 100_000 : 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), 'cuttle-dump-bench-'));
  try {
    console.log(`${machine()}; ${n.toLocaleString('en')} objects of ~1 KB`);
    const db = join(dir, 'source.db');
    const dump = join(dir, 'dump.ndjson');
    const seeded = run(['--phase=seed', `--db=${db}`, `--n=${n}`]);
    console.log(`seeded SQLite in ${seeded.seconds.toFixed(1)} s (${(statSync(db).size / 2 ** 20).toFixed(0)} MB)`);
    const exported = run(['--phase=export', `--db=${db}`, `--out=${dump}`]);
    const dumpMb = statSync(dump).size / 2 ** 20;
    console.log(`export  ${exported.seconds.toFixed(1)} s, ${Math.round(n / exported.seconds).toLocaleString('en')} objects/s, dump ${dumpMb.toFixed(0)} MB, peak RSS ${exported.peakRssMb.toFixed(0)} MB`);
    const imported = run(['--phase=import', `--db=${join(dir, 'target.db')}`, `--in=${dump}`]);
    console.log(`import  ${imported.seconds.toFixed(1)} s, ${Math.round(n / imported.seconds).toLocaleString('en')} objects/s, peak RSS ${imported.peakRssMb.toFixed(0)} MB`);
    const worst = Math.max(exported.peakRssMb, imported.peakRssMb);
    console.log(`peak RSS ${worst.toFixed(0)} MB: ${worst < 200 ? 'under' : 'OVER'} the 200 MB target`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await (phase ? child() : main());
