// Transactions across processes, on SQLite (one file) and PostgreSQL (one table): four processes
// move money between ten accounts for a bounded time, and every account ends with exactly what the
// committed transfers left it (so the total is kept); a process killed with SIGKILL inside a
// transaction leaves nothing of it. The number of retries is printed (PostgreSQL's serialization
// failures); on SQLite transactions take turns and never run twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PostgresBackend } from '../src/backends/postgres.js';
import { SqliteBackend } from '../src/backends/sqlite.js';
import { Store, type StorageBackend } from '../src/index.js';
import { Account } from './fixtures/transfer-account.js';
import { tempDir } from './helpers.js';
import { dropSchema, freshSchema, PG_URL } from './postgres-server.js';

const WORKER = fileURLToPath(new URL('./fixtures/transfer-worker.ts', import.meta.url));
const IDS = Array.from({ length: 10 }, (_, i) => `acc-${i}`);
/** How long each process transfers, in ms: bounded, so the spec's time does not depend on the machine's speed. */
const RUN_MS = 3000;

interface Setup {
  /** The worker's arguments before seed, ms and mode. */
  args: string[];
  open(): StorageBackend;
  cleanup(): Promise<void>;
}

const setups: Record<string, () => Setup> = {
  sqlite: () => {
    const dir = tempDir('cuttle-tx-');
    const file = join(dir.path, 'bank.db');
    return { args: ['sqlite', file], open: () => new SqliteBackend({ path: file, busyTimeout: 60_000 }), cleanup: async () => dir.remove() };
  },
  postgres: () => {
    const schema = freshSchema('tx');
    return {
      args: ['postgres', PG_URL, schema],
      open: () => new PostgresBackend({ connectionString: PG_URL, schema, max: 2 }),
      cleanup: () => dropSchema(schema),
    };
  },
};

/** Starts a worker and resolves once it printed "ready". */
function start(args: string[]): Promise<{ child: ChildProcess; lines: string[]; waitFor(line: RegExp): Promise<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  const waiters: Array<{ line: RegExp; resolve: (line: string) => void }> = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      lines.push(line);
      for (const waiter of waiters.filter((w) => w.line.test(line))) waiter.resolve(line);
    }
  });
  const waitFor = (line: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.find((l) => line.test(l));
      if (found !== undefined) return resolve(found);
      waiters.push({ line, resolve });
      child.once('exit', (code, signal) => reject(new Error(`worker ${args.join(' ')} exited (${code ?? signal}) before printing ${line}`)));
    });
  return waitFor(/^ready$/).then(() => ({ child, lines, waitFor }));
}

async function balances(store: Store): Promise<Record<string, number>> {
  const all: Record<string, number> = {};
  for (const id of IDS) all[id] = (await store.load(Account, id, { cache: false })).balance;
  return all;
}

for (const [kind, make] of Object.entries(setups)) {
  const test = suite<{ setup: Setup; store: Store }>(`transactions across processes: ${kind}`);
  test.before.each(async (context) => {
    context.setup = make();
    context.store = new Store({ backend: context.setup.open() });
    context.store.register(Account);
    await context.store.saveMany(IDS.map((id) => Object.assign(new Account(id), { balance: 100 })));
  });
  test.after.each(async ({ setup, store }) => {
    await store.close();
    await setup.cleanup();
  });

  test(`4 processes transferring for ${RUN_MS} ms keep every balance to what their commits did`, async ({ setup, store }) => {
    const workers = await Promise.all([1, 2, 3, 4].map((seed) => start([...setup.args, String(seed), String(RUN_MS), 'transfer'])));
    for (const { child } of workers) child.stdin!.write('go\n');
    const results = await Promise.all(workers.map(async ({ waitFor }) => JSON.parse(await waitFor(/^\{/)) as { commits: number; runs: number; net: Record<string, number> }));
    const expected: Record<string, number> = Object.fromEntries(IDS.map((id) => [id, 100]));
    for (const { net } of results) for (const id of IDS) expected[id]! += net[id]!;
    const stored = await balances(store);
    assert.equal(stored, expected, 'each account holds exactly what the committed transfers left');
    assert.is(Object.values(stored).reduce((a, b) => a + b, 0), 1000, 'the total is kept');
    const commits = results.reduce((sum, r) => sum + r.commits, 0);
    const retries = results.reduce((sum, r) => sum + r.runs - r.commits, 0);
    assert.ok(results.every((r) => r.commits > 0), 'every process committed transfers');
    console.log(`    ${kind}: ${commits} transfers committed by 4 processes in ${RUN_MS} ms each, ${retries} retries`);
    if (kind === 'sqlite') assert.is(retries, 0, 'SQLite transactions take turns: none runs twice');
  });

  test('a process killed with SIGKILL inside a transaction leaves nothing of it', async ({ setup, store }) => {
    const worker = await start([...setup.args, '1', '0', 'hang']);
    worker.child.stdin!.write('go\n');
    await worker.waitFor(/^inside$/);
    const exited = new Promise((resolve) => worker.child.once('exit', resolve));
    worker.child.kill('SIGKILL');
    await exited;
    // The next transaction on those accounts gets through (the lock died with the process) and sees none of it.
    const seen = await store.transaction(async (tx) => {
      const a = await tx.load(Account, 'acc-0');
      a.balance += 1;
      await tx.save(a);
      return a.balance;
    });
    assert.is(seen, 101);
    const stored = await balances(store);
    assert.is(stored['acc-0'], 101);
    assert.is(Object.values(stored).reduce((a, b) => a + b, 0), 1001);
  });

  test.run();
}
