// Runs @keyv/test-suite (keyvTestSuite and keyvIteratorTests, unmodified) on the Keyv adapter over
// memory, file, SQLite and PostgreSQL stores (spec-keyv/, vitest), and ends with its own line
// `N passed, N failed`, which scripts/test.mjs folds into npm test's last line.
// Usage: node scripts/test-keyv.mjs [vitest file filter]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const dir = mkdtempSync(join(tmpdir(), 'cuttle-keyv-run-'));
const report = join(dir, 'report.json');

const args = [vitest, 'run', '--config', join(root, 'spec-keyv', 'vitest.config.ts'), '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)];
const code = await new Promise((resolve) => {
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
  child.on('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
});

let passed = 0;
let failed = 0;
try {
  const result = JSON.parse(readFileSync(report, 'utf8'));
  passed = result.numPassedTests;
  failed = result.numFailedTests;
  // A file that failed to load counts no test: count it once.
  for (const file of result.testResults) if (file.status === 'failed' && file.assertionResults.length === 0) failed += 1;
} catch (error) {
  console.log(`vitest wrote no report (${error.message})`);
  failed += 1;
}
rmSync(dir, { recursive: true, force: true });
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
