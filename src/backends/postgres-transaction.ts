/**
 * The PostgreSQL backend's transactions: one pooled connection held for the whole callback, at
 * SERIALIZABLE, so that whatever the callback read is still true when it commits (a transfer that
 * read two balances, a create that checked a name was free). When the server cannot promise that
 * (SQLSTATE 40001, serialization_failure) or finds a deadlock (40P01) the transaction is rolled
 * back and the callback run again, up to `retries` more times, then `TransactionError`.
 *
 * Its writes take no value of the change sequence each (a rolled-back transaction would then
 * leave numbers that no notification ever announces, which every other server's feed takes for a
 * missed change, and so a reset): the transaction takes one at its end, just before COMMIT, and
 * its changes are announced with it once committed.
 * @module
 */
import type { PoolClient } from 'pg';
import { ConflictError, TransactionError } from '../errors.js';
import type { Query } from '../query/query.js';
import type { BackendTransaction, FindAnswer, RecordKind, StoredRecord } from './backend.js';
import type { RunSql } from './postgres-query.js';
import { decodeContent, encodeContent, qualified, type TableNames } from './postgres-sql.js';
import { searchVariants, type PostgresSearch } from './postgres-search.js';

/** A change to announce once the transaction committed (the feed's Change). */
interface Change {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly deleted: boolean;
}

/** The statements a transaction runs besides the backend's own reads, none taking a change sequence value. */
export function transactionStatements(names: TableNames) {
  const base = baseStatements(names);
  const { txWrite, txCreate, txUpdate } = base;
  // A searchable type's writes carry its tokens, written in the same statement (postgres-search.ts).
  return { ...base, ...searchVariants(names, { txWrite, txCreate, txUpdate }, { txWrite: 5, txCreate: 5, txUpdate: 6 }) };
}

function baseStatements(names: TableNames) {
  const { objects, sequence } = qualified(names);
  return {
    txWrite: `INSERT INTO ${objects} AS o (type, id, kind, content, version, created_at, updated_at)
        VALUES ($1, $2, $3, $4, 1, $5, $5)
      ON CONFLICT (type, id) DO UPDATE SET kind = excluded.kind, content = excluded.content, version = o.version + 1, updated_at = excluded.updated_at
      RETURNING version::float8`,
    txCreate: `INSERT INTO ${objects} (type, id, kind, content, version, created_at, updated_at)
        VALUES ($1, $2, $3, $4, 1, $5, $5)
      ON CONFLICT (type, id) DO NOTHING
      RETURNING version::float8`,
    txUpdate: `UPDATE ${objects} SET kind = $3, content = $4, version = version + 1, updated_at = $5
      WHERE type = $1 AND id = $2 AND version = $6
      RETURNING version::float8`,
    txDelete: `DELETE FROM ${objects} WHERE type = $1 AND id = $2 RETURNING version::float8`,
    txDeleteChecked: `DELETE FROM ${objects} WHERE type = $1 AND id = $2 AND version = $3 RETURNING version::float8`,
    txLoad: `SELECT kind, content, version::float8, updated_at::float8 FROM ${objects} WHERE type = $1 AND id = $2`,
    txLoadMany: `SELECT id, kind, content, version::float8, updated_at::float8 FROM ${objects} WHERE type = $1 AND id = ANY($2::text[])`,
    txVersion: `SELECT version::float8 FROM ${objects} WHERE type = $1 AND id = $2`,
    txBump: `SELECT nextval('${sequence}')::float8`,
  };
}

type Statement = keyof ReturnType<typeof transactionStatements>;
type Row = unknown[];

/** What a transaction needs of its backend. */
export interface PostgresTransactionHost {
  readonly name: string;
  /** 'serializable' or 'repeatable read' (see PostgresBackendOptions.isolation). */
  readonly isolation: string;
  /** A pooled connection, the table made. */
  connect(): Promise<PoolClient>;
  /** The statements, and their prepared names (the table's, as the backend's own). */
  readonly statements: ReturnType<typeof transactionStatements>;
  readonly names: Record<Statement, string>;
  now(): number;
  /** Answers a query by running its statements with `run` (on the transaction's connection). */
  find(run: RunSql, type: string, query: Query, count: boolean, typeVersion: number | undefined): Promise<FindAnswer>;
  /** The search registry: which types' writes carry their tokens. */
  readonly search: Pick<PostgresSearch, 'values' | 'forget'>;
  /**
   * Announces committed changes to the feed, with the sequence values the transaction took; no
   * changes with a value: one a transaction took and then rolled back.
   */
  announce(changes: readonly Change[], seqs: readonly number[]): Promise<void>;
  /** Throws ClosedError once the backend is closed. */
  check(): void;
  /** pg's error as it should leave the backend. */
  failure(error: unknown): unknown;
}

/** SQLSTATEs after which the whole transaction may simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/** Whether `error` (or what it wraps: a BackendError keeps the SQLSTATE as `systemCode`) is a serialization failure or a deadlock. */
export function isRetryable(error: unknown): boolean {
  for (let e = error as { code?: unknown; systemCode?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (RETRYABLE.has(e.code as string) || RETRYABLE.has(e.systemCode as string)) return true;
  }
  return false;
}

/** Runs `work` in a transaction on one connection, again after a serialization failure, at most `retries` more times. */
export async function runPostgresTransaction<T>(host: PostgresTransactionHost, work: (tx: BackendTransaction) => Promise<T>, retries: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await host.connect();
    let broken: Error | undefined;
    let open = true;
    const changes: Change[] = [];
    /** Runs a statement on the transaction's connection; `name` prepares it under that name. */
    const run = async (text: string, values: readonly unknown[], name?: string): Promise<Row[]> => {
      if (!open) throw new TransactionError(`this transaction on ${host.name} has ended: use it only inside its callback, and await every call`, 'ended');
      host.check();
      try {
        return (await client.query({ ...(name !== undefined && { name }), text, values: [...values], rowMode: 'array' })).rows as Row[];
      } catch (error) {
        host.check();
        throw host.failure(error);
      }
    };
    const query = (key: Statement, values: unknown[]): Promise<Row[]> => run(host.statements[key], values, host.names[key]);
    let seq = 0;
    try {
      await client.query(`BEGIN ISOLATION LEVEL ${host.isolation.toUpperCase()}`);
      const tx = transactionOn(query, host.now, changes, host.search);
      // Queries run on this connection too: they see the transaction's writes, at its isolation.
      tx.find = (type, checked, options) => host.find((text, values) => run(text, values), type, checked, options?.count === true, options?.typeVersion);
      const result = await work(tx);
      open = false;
      if (changes.length > 0) seq = (await client.query({ name: host.names.txBump, text: host.statements.txBump, rowMode: 'array' })).rows[0]![0] as number;
      await client.query('COMMIT');
      if (changes.length > 0) await host.announce(changes, [seq]);
      return result;
    } catch (error) {
      open = false;
      await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
      // A COMMIT refused for a conflict rolled back for certain: its number will never be committed,
      // so the listeners are told not to wait for it (else their next poll resets). After any other
      // failure the COMMIT may have happened; then the poll's reset is the safe answer.
      if (seq > 0 && isRetryable(error)) void host.announce([], [seq]);
      host.check();
      if (!isRetryable(error)) throw host.failure(error);
      if (attempt > retries) {
        throw new TransactionError(
          `a transaction on ${host.name} failed for conflicts with concurrent transactions ${attempt} times (retries: ${retries}): ${(error as Error).message}`,
          'retries',
          attempt,
          { cause: error },
        );
      }
    } finally {
      client.release(broken ?? false);
    }
    // Not at once: the transaction it lost to may still be running. Jittered, so the losers spread out.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
  }
}

/** The `tx` of one attempt: statements on its connection, collecting the changes to announce. */
function transactionOn(query: (key: Statement, values: unknown[]) => Promise<Row[]>, now: () => number, changes: Change[], search: PostgresTransactionHost['search']): BackendTransaction {
  const versionOf = async (type: string, id: string) => ((await query('txVersion', [type, id]))[0]?.[0] as number | undefined) ?? 0;
  return {
    async load(type, id) {
      const row = (await query('txLoad', [type, id]))[0] as [RecordKind, string, number, number] | undefined;
      return row && { type, id, kind: row[0], content: decodeContent(row[1]), version: row[2], updatedAt: row[3] };
    },
    async loadMany(type, ids) {
      if (ids.length === 0) return [];
      const rows = (await query('txLoadMany', [type, ids])) as Array<[string, RecordKind, string, number, number]>;
      const byId = new Map(rows.map((row) => [row[0], row]));
      return ids.map((id) => {
        const row = byId.get(id);
        return row && { type, id, kind: row[1], content: decodeContent(row[2]), version: row[3], updatedAt: row[4] };
      });
    },
    async exists(type, id) {
      return (await query('txVersion', [type, id])).length > 0;
    },
    async write(write) {
      const at = now();
      const content = encodeContent(write.content);
      const expected = write.expectedVersion;
      const side = search.values(write.type, write.id, write.content);
      const run = async (key: 'txWrite' | 'txCreate' | 'txUpdate', values: unknown[]) => {
        if (side === undefined) return query(key, values);
        const rows = await query(`${key}Search`, [...values, ...side]);
        if (rows.length > 0 && rows[0]![1] === 0) search.forget(write.type);
        return rows;
      };
      const rows =
        expected === undefined
          ? await run('txWrite', [write.type, write.id, write.kind, content, at])
          : expected === 0
            ? await run('txCreate', [write.type, write.id, write.kind, content, at])
            : await run('txUpdate', [write.type, write.id, write.kind, content, at, expected]);
      // Refused: in a serializable transaction nothing changes under it, so the stored version is why.
      if (rows.length === 0) throw new ConflictError(write.type, write.id, expected!, await versionOf(write.type, write.id));
      const version = rows[0]![0] as number;
      changes.push({ type: write.type, id: write.id, version, deleted: false });
      const stored: StoredRecord = { type: write.type, id: write.id, kind: write.kind, content: write.content, version, updatedAt: at };
      return stored;
    },
    async delete(type, id, expectedVersion) {
      if (expectedVersion === 0) {
        const actual = await versionOf(type, id);
        if (actual !== 0) throw new ConflictError(type, id, 0, actual);
        return false;
      }
      const rows = expectedVersion === undefined ? await query('txDelete', [type, id]) : await query('txDeleteChecked', [type, id, expectedVersion]);
      if (rows.length === 0) {
        if (expectedVersion !== undefined) throw new ConflictError(type, id, expectedVersion, await versionOf(type, id));
        return false;
      }
      changes.push({ type, id, version: rows[0]![0] as number, deleted: true });
      return true;
    },
  };
}
