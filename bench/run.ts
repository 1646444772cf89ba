// `npm run bench [-- <name filter>] [-- --quick]`: runs every bench/*.bench.ts in turn, each in its
// own process so one benchmark's heap does not skew the next.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const filter = args.find((arg) => !arg.startsWith('--'));
const files = readdirSync(here)
  .filter((file) => file.endsWith('.bench.ts') && (!filter || file.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no bench/*.bench.ts matches ${JSON.stringify(filter)}`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n## ${file}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, file), ...args], { stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
