/**
 * Where the PostgreSQL backend meets `pg`: the module is loaded when a backend is made, not when
 * cuttle is imported, so `pg` stays an optional peer dependency; and pg's failures are given the
 * codes the Store turns into `BackendError`s naming the store.
 * @module
 */
import { createRequire } from 'node:module';
import { CuttleError } from '../errors.js';

export type PgModule = typeof import('pg');

let loaded: PgModule | undefined;

/**
 * The `pg` module, loaded on first use. @throws Error saying `npm install pg` when it is not
 * installed. `name` is for the test of that message.
 */
export function loadPg(name = 'pg'): PgModule {
  if (loaded && name === 'pg') return loaded;
  let pg: PgModule;
  try {
    pg = createRequire(import.meta.url)(name) as PgModule;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'MODULE_NOT_FOUND') {
      throw new Error(`cuttle's PostgreSQL backend needs the ${name} package, which is not installed: npm install ${name}`, { cause: error });
    }
    throw error;
  }
  if (name === 'pg') loaded = pg;
  return pg;
}

/** What pg says when a connection broke or could not be made; its errors carry no code then. */
const CONNECTION_LOST = /Connection terminated|connection error|not queryable|Client has encountered|Connection ended/i;
const CANNOT_CONNECT = /timeout exceeded when trying to connect|Connection terminated due to connection timeout/i;

/**
 * `error` as it should leave the backend. PostgreSQL's own errors keep their SQLSTATE code
 * (`57P01`, `53300`, `23514`, ...) and the network's theirs (`ECONNREFUSED`); pg's code-less reports
 * of a lost connection get SQLSTATE `08006` (connection_failure), and of a connect timeout `08001`
 * (unable to establish a connection), so the Store wraps every one of them as a `BackendError`.
 */
export function pgFailure(error: unknown): unknown {
  if (error instanceof CuttleError || !(error instanceof Error)) return error;
  if (typeof (error as { code?: unknown }).code === 'string') return error;
  const code = CANNOT_CONNECT.test(error.message) ? '08001' : CONNECTION_LOST.test(error.message) ? '08006' : undefined;
  if (code === undefined) return error;
  return Object.assign(new Error(error.message, { cause: error }), { code });
}
