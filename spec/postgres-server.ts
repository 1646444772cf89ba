// The PostgreSQL server the postgres specs run against, and a fresh schema per test: each run
// makes its own schemas (named after the process) and drops them, so runs never share state.
import pg from 'pg';

/** The test server: CUTTLE_PG_URL, or the machine's own (trust auth, database `test`). */
export const PG_URL = process.env.CUTTLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let admin: pg.Pool | undefined;
let made = 0;

/** A pool for the specs' own SQL (not the backend's). */
export function adminPool(): pg.Pool {
  if (!admin) {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2, allowExitOnIdle: true });
    admin.on('error', () => {});
    swept ??= sweep(admin);
  }
  return admin;
}

let swept: Promise<void> | undefined;

/** Drops the schemas left by runs that were killed before their teardown (their process is gone). */
async function sweep(pool: pg.Pool): Promise<void> {
  const { rows } = await pool.query<{ name: string }>(`SELECT nspname AS name FROM pg_namespace WHERE nspname ~ '^cuttle_[a-z]+_[0-9]+_[0-9]+$'`);
  for (const { name } of rows) {
    const pid = Number(name.split('_')[2]);
    if (pid === process.pid || alive(pid)) continue;
    await pool.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A schema name no other test or run uses; made by the backend on first use. */
export function freshSchema(label = 's'): string {
  const name = `cuttle_${label}_${process.pid}_${++made}`;
  unfinished.add(name);
  return name;
}

/** Schemas made and not dropped yet. */
const unfinished = new Set<string>();

/** Drops every schema this process made and did not drop (a test that failed before its cleanup). */
export async function dropLeftovers(): Promise<void> {
  for (const name of [...unfinished]) await dropSchema(name);
}

/** Drops `schema` and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const pool = adminPool();
  await swept;
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  unfinished.delete(schema);
}

/** Ends the admin pool (after the last spec of a file). */
export async function endAdmin(): Promise<void> {
  await admin?.end();
  admin = undefined;
}

/**
 * `backend` once its change feed listens (a subscriber that stays until the backend closes): a
 * store made on it then hears no reset from the feed's first connection after it has cached things.
 */
export async function listening<B extends { changes(listener: () => void): unknown; readonly feed: { readonly state: string } }>(backend: B): Promise<B> {
  backend.changes(() => {});
  for (let i = 0; backend.feed.state !== 'listening'; i++) {
    if (i > 500) throw new Error(`the change feed did not start listening (state ${backend.feed.state})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return backend;
}
