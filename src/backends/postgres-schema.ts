/**
 * The PostgreSQL backend's schema: the objects table, its change sequence, and a one-row meta
 * table holding the schema version, with the migration steps that bring an older table up to date.
 * @module
 */
import type { PoolClient } from 'pg';
import { CorruptDataError } from '../errors.js';
import { qualified, type TableNames } from './postgres-sql.js';

/** One step of the schema's history: run on a table at version `index` to bring it to `index + 1`. */
export type PostgresMigration = (names: TableNames) => string;

/**
 * The steps from version 0 (nothing there yet) to the current version; `POSTGRES_MIGRATIONS.length`
 * is the current schema version. A step never changes once released, since tables made by it exist.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  // 0 -> 1. type and id compare with the "C" collation, byte by byte in UTF-8, which is code point
  // order (compareIds), whatever the database's locale. Content is TEXT, not JSONB: JSONB rewrites
  // the text (key order, spacing, number forms) and refuses \u0000 in strings.
  (names) => {
    const { objects, sequence } = qualified(names);
    return `
      CREATE TABLE ${objects} (
        type       text COLLATE "C" NOT NULL,
        id         text COLLATE "C" NOT NULL,
        kind       text   NOT NULL CHECK (kind IN ('object', 'container')),
        content    text   NOT NULL,
        version    bigint NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (type, id)
      );
      CREATE SEQUENCE ${sequence};`;
  },
];

/** The columns of the objects table in order, as the current version has them. */
const COLUMNS = 'type text C, id text C, kind text, content text, version bigint, created_at bigint, updated_at bigint';

/**
 * Brings the table to the schema of `migrations` (by default the current one), or throws
 * {@link CorruptDataError} naming it when it is not cuttle's or is newer than this code. Every check
 * and step runs in one transaction under an advisory lock on the table's name, so processes that
 * start at once take turns and a failed step leaves nothing (PostgreSQL's DDL is transactional).
 * @returns the schema version now in the database.
 */
export async function migratePostgres(client: PoolClient, names: TableNames, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<number> {
  const { meta } = qualified(names);
  const where = `${names.schema}.${names.table}`;
  const target = migrations.length;
  // A read first: a table that is up to date (the usual case) costs no lock.
  if ((await readVersion(client, names, where, target)) === target) {
    await checkShape(client, names, where);
    return target;
  }
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`cuttle:${where}`]);
    const version = await readVersion(client, names, where, target);
    if (version < target) {
      if (version === 0) {
        if (await tableExists(client, names.schema, names.table)) {
          throw new CorruptDataError(`${where} is not a cuttle table: it exists without ${names.table}_meta, where cuttle keeps its schema version`, { file: where });
        }
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${names.schema}"`);
        await client.query(`CREATE TABLE ${meta} (schema_version integer NOT NULL)`);
        await client.query(`INSERT INTO ${meta} VALUES (0)`);
      }
      for (let step = version; step < target; step++) await client.query(migrations[step]!(names));
      await client.query(`UPDATE ${meta} SET schema_version = $1`, [target]);
    }
    await checkShape(client, names, where);
    await client.query('COMMIT');
    return target;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** The table's schema version (0 when there is no meta table); throws when newer than `target`. */
async function readVersion(client: PoolClient, names: TableNames, where: string, target: number): Promise<number> {
  if (!(await tableExists(client, names.schema, `${names.table}_meta`))) return 0;
  const { rows } = await client.query<{ schema_version: number }>(`SELECT schema_version FROM ${qualified(names).meta}`);
  if (rows.length !== 1) throw new CorruptDataError(`${where}_meta must hold one row, the schema version; it holds ${rows.length}`, { file: where });
  const version = rows[0]!.schema_version;
  if (version > target) {
    throw new CorruptDataError(
      `${where} has schema version ${version}, newer than the ${target} this version of cuttle reads: it was written by a newer cuttle`,
      { file: where },
    );
  }
  return version;
}

async function tableExists(client: PoolClient, schema: string, table: string): Promise<boolean> {
  const { rowCount } = await client.query(`SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2`, [schema, table]);
  return rowCount === 1;
}

/** Throws unless the objects table is the one this code made: same columns and collations, keyed on (type, id). */
async function checkShape(client: PoolClient, names: TableNames, where: string): Promise<void> {
  const { rows } = await client.query<{ shape: string | null; key: string | null }>(
    `SELECT
       (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN c.collname = 'C' THEN ' C' ELSE '' END, ', ' ORDER BY a.attnum)
          FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_collation c ON c.oid = a.attcollation AND a.attcollation <> 100
         WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped) AS shape,
       (SELECT string_agg(a.attname, ',' ORDER BY k.n)
          FROM pg_catalog.pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, n), pg_catalog.pg_attribute a
         WHERE i.indrelid = t.oid AND i.indisprimary AND a.attrelid = t.oid AND a.attnum = k.attnum) AS key
     FROM pg_catalog.pg_class t JOIN pg_catalog.pg_namespace s ON s.oid = t.relnamespace
     WHERE s.nspname = $1 AND t.relname = $2 AND t.relkind = 'r'`,
    [names.schema, names.table],
  );
  const shape = rows[0]?.shape ?? null;
  if (shape !== COLUMNS) {
    throw new CorruptDataError(
      `${where} is not a cuttle table: ` + (shape === null ? 'it is missing' : `its columns are (${shape}), not (${COLUMNS})`),
      { file: where },
    );
  }
  if (rows[0]!.key !== 'type,id') throw new CorruptDataError(`${where} is not a cuttle table: it is not keyed on (type, id)`, { file: where });
}
