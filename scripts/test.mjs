// Runs every spec/**/*.spec.ts with uvu over tsx, then each further runner in STEPS (a runner
// whose own last line is `N passed, N failed`), and ends with one line `N passed, N failed` that
// folds every count in, so a run that executed nothing, or died half-way, is visible at a glance.
// Usage: npm test [-- <file pattern>]   e.g. npm test -- sqlite   (a pattern runs uvu's specs only)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Further runners, each `node <script>`; they print their own `N passed, N failed` last. */
const STEPS = ['scripts/test-keyv.mjs', 'scripts/test-browser.mjs'];

const require = createRequire(import.meta.url);
// uvu's package exports hide bin.js; it sits beside dist/.
const uvu = join(dirname(require.resolve('uvu')), '..', 'bin.js');
const filter = process.argv[2];
const pattern = filter ? `(?:${filter}).*\\.spec\\.ts$` : '\\.spec\\.ts$';
const color = process.stdout.isTTY ? [] : ['--no-color'];

/** Runs one child, echoing its output; resolves with its plain output and exit code. */
function run(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['inherit', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      output += chunk;
    });
    child.on('close', (code, signal) => {
      // eslint-disable-next-line no-control-regex
      resolve({ plain: output.replace(/\u001b\[[0-9;]*m/g, ''), code, signal });
    });
  });
}

/** The counts of one finished runner, or one failure when it ended before saying them. */
function counts(name, { plain, code, signal }, read) {
  const found = read(plain);
  if (!found) {
    console.log(`${name} ended before its summary (exit code ${code}, signal ${signal})`);
    return { passed: 0, failed: 1 };
  }
  // A runner that counted no failure but exited non-zero still failed once.
  return code === 0 || found.failed > 0 ? found : { passed: found.passed, failed: 1 };
}

const results = [];
const uvuRun = await run(['--import', 'tsx', uvu, 'spec', pattern, ...color]);
results.push(
  counts('the uvu run', uvuRun, (plain) => {
    const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
    const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
    if (Number.isNaN(total) || Number.isNaN(passed) || total === 0) return undefined;
    return { passed, failed: total - passed };
  }),
);
if (!filter) {
  for (const script of STEPS) {
    const result = await run([script]);
    results.push(
      counts(script, result, (plain) => {
        const line = /(\d+) passed, (\d+) failed\s*$/.exec(plain.trimEnd());
        return line ? { passed: Number(line[1]), failed: Number(line[2]) } : undefined;
      }),
    );
  }
}
const passed = results.reduce((sum, r) => sum + r.passed, 0);
const failed = results.reduce((sum, r) => sum + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
