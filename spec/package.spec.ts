// The package as a user installs it: its entry points resolve, from ESM and from CommonJS.
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('package entry points');
const node = (args: string[]) => spawnSync(process.execPath, args, { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname });

test('import "cuttle", "cuttle/testing" and "cuttle/postgres" from ESM', () => {
  const result = node(['--input-type=module', '-e', `
    const core = await import('cuttle');
    const testing = await import('cuttle/testing');
    const postgres = await import('cuttle/postgres');
    console.log(typeof core.Storage.save, typeof testing.backendSuite, typeof postgres.PostgresBackend);`]);
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stdout.trim(), 'function function function');
});

test('import "cuttle/keyv" from ESM, and it bundles for the browser with no Node module', async () => {
  const result = node(['--input-type=module', '-e', `
    const { KeyvCuttle, default: byDefault } = await import('cuttle/keyv');
    const { Store } = await import('cuttle');
    console.log(new KeyvCuttle(new Store()).opts.url, byDefault === KeyvCuttle);`]);
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stdout.trim(), 'cuttle:memory true');
  const { build } = await import('esbuild');
  const bundle = await build({
    stdin: { contents: "export { KeyvCuttle } from 'cuttle/keyv';", resolveDir: new URL('..', import.meta.url).pathname },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const code = new TextDecoder().decode(bundle.outputFiles[0]!.contents);
  assert.not.match(code, /better-sqlite3|node:|SqliteBackend|FileBackend|PostgresBackend/);
  assert.match(code, /KeyvCuttle/);
});

const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const requireEsm = major > 20 || minor >= 19;
(requireEsm ? test : test.skip)(`require("cuttle") from CommonJS${requireEsm ? '' : ' (skipped: Node before 20.19 cannot require an ES module; the README says to use import())'}`, () => {
  const result = node(['-e', `const { Storage, Serializable } = require('cuttle'); console.log(typeof Storage.save, typeof Serializable)`]);
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stdout.trim(), 'function function');
});

test('a bundler for the browser gets the browser build of "cuttle": no Node module, no Node backend', async () => {
  const { build } = await import('esbuild');
  const result = await build({
    stdin: { contents: "import { Storage, InMemoryBackend } from 'cuttle'; import * as all from 'cuttle'; export { Storage, InMemoryBackend, all };", resolveDir: new URL('..', import.meta.url).pathname },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  const code = new TextDecoder().decode(result.outputFiles[0]!.contents);
  assert.not.match(code, /better-sqlite3|node:|SqliteBackend|FileBackend|PostgresBackend/);
  assert.match(code, /InMemoryBackend/);
  assert.match(code, /IndexedDbBackend/, 'the IndexedDB backend is in the browser build');
  assert.match(code, /defineBackendKind\("indexeddb"|"indexeddb"/, "and its kind, for Storage.configure('indexeddb')");
});

test('"cuttle/indexeddb" imports in Node; a backend without IndexedDB there is an UnsupportedError saying what to do', () => {
  const result = node(['--input-type=module', '-e', `
    const { IndexedDbBackend } = await import('cuttle/indexeddb');
    const { Storage } = await import('cuttle');
    for (const make of [() => new IndexedDbBackend({ name: 'x' }), () => Storage.configure('indexeddb', { name: 'x' })]) {
      try { make(); console.log('made one'); } catch (error) { console.log(error.code, error.message); }
    }`]);
  assert.is(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  assert.is(lines.length, 2, result.stdout);
  for (const line of lines) assert.is(line, 'ERR_UNSUPPORTED IndexedDbBackend: this platform has no IndexedDB (globalThis.indexedDB); in Node, import "fake-indexeddb/auto" before making one');
});

test.run();
