// Bundles cuttle's browser entry (src/browser.ts) with esbuild for `platform: 'browser'` and fails
// on anything that only Node has: a `node:` module, a Node built-in, a package that needs one.
// Prints the bundle's size, minified and gzipped. CI runs it; so can anyone:
//   node scripts/browser-bundle.mjs [entry] [--out=file.js]
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const args = process.argv.slice(2);
const entry = args.find((arg) => !arg.startsWith('--')) ?? 'src/browser.ts';
const out = args.find((arg) => arg.startsWith('--out='))?.slice('--out='.length);

let result;
try {
  result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
} catch (error) {
  console.error(`${entry} does not bundle for the browser:`);
  for (const message of error.errors ?? [error]) {
    const where = message.location ? `${message.location.file}:${message.location.line}: ` : '';
    console.error(`  ${where}${message.text ?? message.message}`);
  }
  process.exit(1);
}
const code = result.outputFiles[0].contents;
if (out) writeFileSync(out, code);
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(`${entry}: bundles for the browser with no Node module; ${kib(code.length)} minified, ${kib(gzipSync(code).length)} min+gzip`);
