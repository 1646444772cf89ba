// Runs the IndexedDB backend's tests in real headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core; no browser is downloaded): bundles spec/browser/*.browser.ts with esbuild,
// serves them from a static server on 127.0.0.1, runs the conformance suite in one page and
// collects uvu's output from it, then the two-tab test (two pages of one origin: a save in one is
// seen by the other's cache). Ends with one line `N passed, N failed` (scripts/test.mjs folds it in).
//   node scripts/test-browser.mjs            CHROMIUM=/path/to/chromium to use another binary
import { bundle, executablePath, haveChromium, launchChromium, servePages } from './chromium.mjs';

/** How long the whole suite may take in the page before the run counts as failed (ms). */
const SUITE_TIMEOUT = 10 * 60 * 1000;
/** How long a tab may take to hear another tab's change before that test fails (ms). */
const HEAR_TIMEOUT = 10 * 1000;

let passed = 0;
let failed = 0;
const finish = () => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
};

if (!haveChromium()) {
  console.log(`no Chromium at ${executablePath}: install Debian's package (apt-get install -y chromium) or set CHROMIUM`);
  failed++;
  finish();
}

const server = await servePages({
  '/suite.html': await bundle('spec/browser/indexeddb.browser.ts'),
  '/tab.html': await bundle('spec/browser/two-tabs.browser.ts'),
});
const { origin } = server;

const browser = await launchChromium();
try {
  console.log(`${browser.version()} (${executablePath}), ${origin}`);
  await runSuite();
  await runTwoTabs();
} catch (error) {
  console.log(`the browser run failed: ${error?.stack ?? error}`);
  failed++;
} finally {
  await browser.close();
  server.close();
}
finish();

/** The conformance suite in one page: uvu's own output, and its counts. */
async function runSuite() {
  const context = await browser.newContext();
  const tab = await context.newPage();
  const errors = [];
  tab.on('pageerror', (error) => errors.push(error));
  await tab.goto(`${origin}/suite.html`);
  await tab.waitForFunction(() => globalThis.uvuDone === true, undefined, { timeout: SUITE_TIMEOUT, polling: 250 });
  // eslint-disable-next-line no-control-regex
  const output = (await tab.evaluate(() => globalThis.uvuOutput)).replace(/\u001b\[[0-9;]*m/g, '');
  process.stdout.write(output);
  const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? NaN);
  const done = Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? NaN);
  if (Number.isNaN(total) || Number.isNaN(done) || total === 0) {
    console.log('the suite in Chromium ended before its summary');
    failed++;
  } else {
    passed += done;
    failed += total - done;
  }
  for (const error of errors) {
    console.log(`an error the suite did not catch: ${error.stack ?? error}`);
    failed++;
  }
  await context.close();
}

/** Two pages of one origin on one database, each with its own Storage and cache. */
async function runTwoTabs() {
  const context = await browser.newContext();
  const db = `two-tabs-${Date.now()}`;
  const [a, b] = [await context.newPage(), await context.newPage()];
  const errors = [];
  for (const tab of [a, b]) tab.on('pageerror', (error) => errors.push(error));
  for (const tab of [a, b]) {
    await tab.goto(`${origin}/tab.html?db=${db}`);
    await tab.waitForFunction(() => globalThis.tab !== undefined);
  }
  const call = (tab, method, ...args) => tab.evaluate(([method, args]) => globalThis.tab[method](...args), [method, args]);
  /** Resolves once `tab`'s `method(...args)` returns `value`; fails after HEAR_TIMEOUT. */
  const until = async (tab, value, method, ...args) => {
    try {
      await tab.waitForFunction(([method, args, value]) => JSON.stringify(globalThis.tab[method](...args)) === JSON.stringify(value), [method, args, value], { timeout: HEAR_TIMEOUT, polling: 10 });
    } catch (error) {
      const last = await call(tab, method, ...args);
      throw new Error(`${method}(${args.map((arg) => JSON.stringify(arg)).join(', ')}) still ${JSON.stringify(last)}, not ${JSON.stringify(value)}, after ${HEAR_TIMEOUT} ms`, { cause: error });
    }
  };

  const tests = [
    ["a save in one tab drops the other tab's cached copy (and only it); the other's next load has the new version", async () => {
      await call(b, 'save', 'n', 'from b');
      await call(b, 'save', 'keep', 'from b');
      expect(await call(b, 'cached', 'n'), 'from b', "b's cache holds its own save");
      expect(await call(a, 'load', 'n'), 'from b', 'a reads what b saved');
      expect(await call(a, 'save', 'n', 'from a'), 2, 'the version after b');
      await until(b, null, 'cached', 'n');
      expect(await call(b, 'cached', 'keep'), 'from b', 'what a did not change stays cached in b');
      expect(await call(b, 'load', 'n'), 'from a');
      expect(await call(b, 'outsideDrops'), 1);
    }],
    ["a delete in one tab is seen by the other tab's get", async () => {
      expect(await call(a, 'load', 'keep'), 'from b');
      expect(await call(b, 'delete', 'keep'), true);
      await until(a, null, 'cached', 'keep');
      expect(await call(a, 'load', 'keep'), null);
    }],
    ["watch in one tab reports the other tab's changes, in order", async () => {
      await call(b, 'save', 'w', 'one');
      await call(b, 'delete', 'w');
      await until(a, ['save n v1', 'save keep v1', 'delete keep v1', 'save w v1', 'delete w v1'], 'changes');
      expect(await call(b, 'changes'), ['save n v2'], "b heard a's one save");
    }],
    ['two tabs saving one object with the same expectedVersion at once: exactly one wins, every time', async () => {
      for (let round = 0; round < 10; round++) {
        const id = `race${round}`;
        expect(await call(a, 'saveExpecting', id, 'first', 0), 'saved');
        const results = await Promise.all([call(a, 'saveExpecting', id, 'from a', 1), call(b, 'saveExpecting', id, 'from b', 1)]);
        expect([...results].sort(), ['conflict at 2', 'saved'], `round ${round}`);
        const winner = results[0] === 'saved' ? 'from a' : 'from b';
        // The loser's failed save dropped its cached copy, and the winner's is the stored one.
        expect(await call(a, 'load', id), winner);
        expect(await call(b, 'load', id), winner);
      }
    }],
    ["a dump exported to a Blob in one tab and imported from a File in the other: the same store, and the first tab's cache reset", async () => {
      const dump = await call(a, 'exportText');
      const resets = await call(a, 'outsideResets');
      expect(await call(b, 'importFile', dump), dump.trim().split('\n').length - 2, 'every record line');
      expect(await call(b, 'exportText'), dump, 'the same dump back');
      await until(a, resets + 1, 'outsideResets');
    }],
  ];
  for (const [name, run] of tests) {
    try {
      await run();
      passed++;
      console.log(`  ✓ two tabs: ${name}`);
    } catch (error) {
      failed++;
      console.log(`  ✘ two tabs: ${name}\n    ${error?.message ?? error}`);
    }
  }
  for (const error of errors) {
    console.log(`an error in a tab that no test caught: ${error.stack ?? error}`);
    failed++;
  }
  await context.close();
}

function expect(actual, expected, what = '') {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what ? `${what}: ` : ''}expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
