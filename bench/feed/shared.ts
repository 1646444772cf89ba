// What the reader and the writer of bench/feed.bench.ts share: the class they save and load, and
// how each opens the backend both work on.
import { Serializable, SqliteBackend, type StorageBackend } from '../../dist/index.js';
import { PostgresBackend } from '../../dist/postgres.js';

/** The objects of the cell: ~1 KB documents. */
export class FeedNote extends Serializable {
  static override typeName = 'FeedNote';
  text = '';
  body = 'x'.repeat(1000);
}

export const PG_URL = process.env.CUTTLE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A backend on the cell's data: a SQLite file, or a PostgreSQL schema. */
export function openFeedBackend(kind: string, where: string): StorageBackend {
  if (kind === 'sqlite') return new SqliteBackend({ path: where });
  if (kind === 'postgres') return new PostgresBackend({ connectionString: PG_URL, schema: where });
  throw new Error(`bench/feed: unknown backend ${kind}`);
}
