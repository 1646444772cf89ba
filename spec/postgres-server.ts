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
  }
  return admin;
}

/** A schema name no other test or run uses; made by the backend on first use. */
export function freshSchema(label = 's'): string {
  return `cuttle_${label}_${process.pid}_${++made}`;
}

/** Drops `schema` and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await adminPool().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Ends the admin pool (after the last spec of a file). */
export async function endAdmin(): Promise<void> {
  await admin?.end();
  admin = undefined;
}
