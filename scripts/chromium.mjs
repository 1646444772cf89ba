// Shared by scripts/test-browser.mjs and bench/indexeddb.bench.ts: Debian's Chromium driven by
// playwright-core (no browser is ever downloaded), TypeScript entries bundled with esbuild, and a
// static server on 127.0.0.1 for the pages.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';

/** The browser binary: Debian's package, or CHROMIUM=/path/to/chromium. */
export const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Whether there is a browser to run. */
export const haveChromium = () => existsSync(executablePath);

/** Launches headless Chromium. */
export function launchChromium() {
  return chromium.launch({ executablePath, args: FLAGS });
}

/** Bundles one browser entry (TypeScript) into one ES module, in memory. */
export async function bundle(entry) {
  const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', target: 'es2022', write: false, logLevel: 'silent', sourcemap: 'inline' });
  return result.outputFiles[0].text;
}

/**
 * Serves `pages` (path -> the script of an empty HTML page that loads it as a module, e.g.
 * `{ '/suite.html': code }`) from 127.0.0.1 on a free port. @returns its origin and `close()`.
 */
export async function servePages(pages) {
  const scripts = new Map(Object.entries(pages).map(([path, code]) => [path.replace(/\.html$/, '.js'), code]));
  const server = createServer((request, response) => {
    const path = new URL(request.url, 'http://127.0.0.1').pathname;
    if (pages[path] !== undefined) {
      const html = `<!doctype html><meta charset="utf-8"><title>cuttle</title><script type="module" src="${path.replace(/\.html$/, '.js')}"></script>`;
      return response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    }
    if (scripts.has(path)) return response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(scripts.get(path));
    response.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}
