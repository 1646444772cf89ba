// IndexedDB in real headless Chromium (Debian's /usr/bin/chromium through playwright-core, as the
// tests run it): cuttle's IndexedDbBackend and a Store on it against raw IndexedDB code, ~1.2 KB
// documents, each figure the median of several rounds, ratios to the raw code in the same run.
// Usage: npm run bench -- indexeddb [-- --quick] [-- --json=results.json]
import { writeFileSync } from 'node:fs';
import { bundle, haveChromium, launchChromium, servePages } from '../scripts/chromium.mjs';
import { machine, quick, report, type Measurement } from './harness.js';

if (!haveChromium()) {
  console.error('no Chromium at /usr/bin/chromium (apt-get install -y chromium), or set CHROMIUM');
  process.exit(1);
}
const ops = quick ? 200 : 1000;
const rounds = quick ? 3 : 7;
const server = await servePages({ '/bench.html': await bundle('bench/indexeddb/page.ts') });
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(`${server.origin}/bench.html`);
  await page.waitForFunction(() => (globalThis as { runBench?: unknown }).runBench !== undefined);
  type Run = (options: { ops: number; rounds: number }) => Promise<Record<string, Measurement[]>>;
  const results = await page.evaluate((options) => (globalThis as unknown as { runBench: Run }).runBench(options), { ops, rounds });
  console.log(`Chromium ${browser.version()}, ${ops} operations (or records) per contender and round, ${rounds} rounds, contenders alternating`);
  report('Saves, one at a time', results.writes!, 'raw IndexedDB put (one transaction each)');
  report('Loads, one at a time', results.reads!, 'raw IndexedDB get (one transaction each)');
  report('Batches (records per second)', results.batches!, 'raw IndexedDB: 100 puts in one transaction');
  const json = process.argv.find((arg) => arg.startsWith('--json='));
  if (json) writeFileSync(json.slice('--json='.length), JSON.stringify({ machine: machine(), chromium: browser.version(), ops, rounds, quick, results }, null, 2));
} finally {
  await browser.close();
  server.close();
}
