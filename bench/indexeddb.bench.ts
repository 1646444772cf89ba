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
const server = await servePages({ '/bench.html': await bundle('bench/indexeddb/page.ts'), '/tab.html': await bundle('bench/indexeddb/tab.ts') });
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
  const coherence = await coherenceRun();
  const json = process.argv.find((arg) => arg.startsWith('--json='));
  if (json) writeFileSync(json.slice('--json='.length), JSON.stringify({ machine: machine(), chromium: browser.version(), ops, rounds, quick, results, coherence }, null, 2));
} finally {
  await browser.close();
  server.close();
}

/**
 * Two tabs of one origin on one database: how long after a save in one the other's cache has
 * dropped the old copy (its watch heard of it), from the save's call and from its return.
 */
async function coherenceRun() {
  const saves = quick ? 50 : 300;
  const context = await browser.newContext();
  const db = `coherence-${Date.now()}`;
  const [writer, reader] = [await context.newPage(), await context.newPage()];
  for (const tab of [writer, reader]) {
    await tab.goto(`${server.origin}/tab.html?db=${db}`);
    await tab.waitForFunction(() => (globalThis as { tab?: unknown }).tab !== undefined);
  }
  type Tab = { warm(n: number): Promise<void>; write(n: number, pause: number): Promise<Array<{ key: string; called: number; returned: number }>>; heard(): Record<string, number> };
  // The 50 notes exist and the reader has them cached: each measured save drops a cached copy.
  await writer.evaluate(() => (globalThis as unknown as { tab: Tab }).tab.write(50, 0));
  await new Promise((resolve) => setTimeout(resolve, 200));
  await reader.evaluate(() => (globalThis as unknown as { tab: Tab }).tab.warm(50));
  const written = await writer.evaluate((count) => (globalThis as unknown as { tab: Tab }).tab.write(count, 10), saves);
  // Give the last message its time to arrive, then collect.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const heard = await reader.evaluate(() => (globalThis as unknown as { tab: Tab }).tab.heard());
  await context.close();
  const fromCall: number[] = [];
  const fromReturn: number[] = [];
  let missing = 0;
  for (const { key, called, returned } of written) {
    const at = heard[key];
    if (at === undefined) missing++;
    else {
      fromCall.push(at - called);
      fromReturn.push(at - returned);
    }
  }
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
    return { median: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
  };
  const result = { saves, missing, fromCall: stats(fromCall), fromReturn: stats(fromReturn) };
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  console.log(`\nCoherence between two tabs (${saves} saves, 10 ms apart; the other tab's watch heard ${saves - missing})`);
  console.log(`  from the save's call:   median ${ms(result.fromCall.median)}, p99 ${ms(result.fromCall.p99)}, max ${ms(result.fromCall.max)}`);
  console.log(`  from the save's return: median ${ms(result.fromReturn.median)}, p99 ${ms(result.fromReturn.p99)}, max ${ms(result.fromReturn.max)}`);
  return result;
}
