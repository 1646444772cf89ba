// Runs every spec/**/*.spec.ts with uvu over tsx and ends with the line `N passed, N failed`,
// so a run that executed nothing, or died half-way, is visible at a glance.
// Usage: npm test [-- <file pattern>]   e.g. npm test -- sqlite
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// uvu's package exports hide bin.js; it sits beside dist/.
const uvu = join(dirname(require.resolve('uvu')), '..', 'bin.js');
const filter = process.argv[2];
const pattern = filter ? `(?:${filter}).*\\.spec\\.ts$` : '\\.spec\\.ts$';

const color = process.stdout.isTTY ? [] : ['--no-color'];
const child = spawn(process.execPath, ['--import', 'tsx', uvu, 'spec', pattern, ...color], {
  stdio: ['inherit', 'pipe', 'inherit'],
});

let output = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  output += chunk;
});

child.on('close', (code, signal) => {
  // eslint-disable-next-line no-control-regex
  const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
  if (Number.isNaN(total) || Number.isNaN(passed)) {
    console.log(`the test run ended before its summary (exit code ${code}, signal ${signal})`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  const failed = total - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && total > 0 && code === 0 ? 0 : 1);
});
