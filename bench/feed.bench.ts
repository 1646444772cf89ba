// The change-feed cell (issue #17, and #18 on PostgreSQL): a reader doing cached loads of 10,000
// objects while a writer process saves random objects among them at 1,000/s. Reported per
// backend: the reader's warm load rate and hit rate with no writer, with the writer as cuttle is
// now (each outside change drops that one entry), and with the writer as wave 1 handled it (every
// outside change empties the cache: the same feed with each delivery turned into a reset).
// Targets: hit rate >= 0.9, warm loads within 2x of no writer.
// Usage: npm run bench -- feed [-- --quick] [-- --backend sqlite|postgres]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Store, type BackendChange, type StorageBackend } from '../dist/index.js';
import { PostgresBackend } from '../dist/postgres.js';
import { machine, quick } from './harness.js';
import { FeedNote, openFeedBackend, PG_URL } from './feed/shared.js';

const COUNT = 10_000;
const RATE = 1000;
const SECONDS = quick ? 3 : 10;
const chosen = process.argv.includes('--backend') ? [process.argv[process.argv.indexOf('--backend') + 1]!] : ['sqlite', 'postgres'];
const writerScript = fileURLToPath(new URL('./feed/writer.ts', import.meta.url));

interface Phase {
  name: string;
  loadsPerSec: number;
  hitRate: number;
  writerRate?: number;
}

/** Turns every delivery of `backend`'s feed into one reset: how wave 1's stores reacted to others' writes. */
function wholeCacheClears(backend: StorageBackend): StorageBackend {
  const subscribe = backend.changes!.bind(backend);
  backend.changes = (listener) => subscribe((changes: readonly BackendChange[]) => changes.length > 0 && listener([{ reset: true }]));
  return backend;
}

/**
 * Cached loads of random ids, 100 per event-loop turn (as a server's requests would come), for
 * `seconds` or until `until` settles.
 */
async function readFor(store: Store, seconds: number, until?: Promise<unknown>): Promise<{ loadsPerSec: number; hitRate: number }> {
  let done = false;
  void until?.finally(() => (done = true));
  const before = store.cache.stats();
  const start = performance.now();
  let loads = 0;
  while (until ? !done : performance.now() - start < seconds * 1000) {
    for (let i = 0; i < 100; i++) await store.load(FeedNote, `n${Math.floor(Math.random() * COUNT)}`);
    loads += 100;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const elapsed = (performance.now() - start) / 1000;
  const after = store.cache.stats();
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  return { loadsPerSec: loads / elapsed, hitRate: hits / (hits + misses) };
}

/** The writer process: `ready` once it has opened the backend, `done` with what it saved. */
function startWriter(kind: string, where: string): { ready: Promise<void>; done: Promise<{ saved: number; seconds: number }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', writerScript, kind, where, String(COUNT), String(RATE), String(SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    out += chunk;
    if (out.includes('ready')) ready();
  });
  const done = new Promise<{ saved: number; seconds: number }>((resolve, reject) =>
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`the writer exited with ${code}`)))),
  );
  return { ready: isReady, done };
}

async function cell(kind: string, where: string): Promise<Phase[]> {
  const seed = new Store({ backend: openFeedBackend(kind, where), cache: false });
  for (let i = 0; i < COUNT; i += 500) {
    await seed.saveMany(Array.from({ length: 500 }, (_, k) => Object.assign(new FeedNote(`n${i + k}`), { text: 'first' })));
  }
  await seed.close();
  const phases: Phase[] = [];
  for (const name of ['no writer', 'writer, per-object drops (now)', 'writer, whole-cache clears (wave 1)']) {
    let backend = openFeedBackend(kind, where);
    if (name.includes('wave 1')) backend = wholeCacheClears(backend);
    if (backend instanceof PostgresBackend) await waitListening(backend);
    const store = new Store({ backend, cache: { max: 2 * COUNT } });
    for (let i = 0; i < COUNT; i++) await store.load(FeedNote, `n${i}`);
    const writer = name === 'no writer' ? undefined : startWriter(kind, where);
    await writer?.ready;
    const read = await readFor(store, SECONDS, writer?.done);
    const wrote = await writer?.done;
    phases.push({ name, ...read, writerRate: wrote && wrote.saved / wrote.seconds });
    await store.close();
  }
  return phases;
}

async function waitListening(backend: PostgresBackend): Promise<void> {
  backend.changes(() => {});
  while (backend.feed.state !== 'listening') await new Promise((resolve) => setTimeout(resolve, 10));
}

console.log(`feed cell: ${COUNT.toLocaleString('en')} objects, writer ${RATE}/s for ${SECONDS} s; ${machine()}`);
for (const kind of chosen) {
  let where: string;
  let cleanup: () => Promise<void>;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'cuttle-feed-bench-'));
    where = join(dir, 'feed.db');
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    where = `cuttle_feed_bench_${process.pid}`;
    cleanup = async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${where}" CASCADE`);
      await client.end();
    };
  }
  try {
    const phases = await cell(kind, where);
    const base = phases[0]!;
    console.log(`\n${kind}`);
    for (const phase of phases) {
      const writer = phase.writerRate === undefined ? '' : `  (writer ${Math.round(phase.writerRate)} saves/s)`;
      console.log(`  ${phase.name.padEnd(38)} ${Math.round(phase.loadsPerSec).toLocaleString('en').padStart(10)} loads/s  ${(phase.loadsPerSec / base.loadsPerSec).toFixed(2)}x no writer  hit rate ${phase.hitRate.toFixed(3)}${writer}`);
    }
  } finally {
    await cleanup();
  }
}
