// `npm run bench [-- <name>] [-- --quick]`. Without a name: the comparison harness,
// bench/compare.bench.ts (every backend, the raw ceilings and the peers; see docs/performance.md).
// With a name: every bench/*.bench.ts whose file name contains it (`sqlite`, `file`, `cache`,
// `dump`, `codec`, `compare`), or `all` for every one. Each runs in its own process, so one
// benchmark's heap does not skew the next; other arguments are passed on.
//
// The benches import cuttle from dist/ (`npm run bench` builds it first): the JavaScript users
// run. Through tsx, cuttle's own code ran several times slower (tsx compiles with esbuild's
// keepNames, which wraps each named closure in a call every time it is made: toQuery of one
// equality took 1.84 µs under tsx, 0.26 µs built), which the raw ceilings did not pay.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const filter = args.find((arg) => !arg.startsWith('--')) ?? 'compare';
const files = readdirSync(here)
  .filter((file) => file.endsWith('.bench.ts') && (filter === 'all' || file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no bench/*.bench.ts matches ${JSON.stringify(filter)}`);
  process.exit(1);
}
const passed = args.filter((arg) => arg !== filter);
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, file), ...passed], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
