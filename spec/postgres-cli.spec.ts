// The `cuttle` command on postgres:// store strings: moving an app from SQLite to PostgreSQL and back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SqliteBackend, Store } from '../src/index.js';
import { parseStoreSpec } from '../src/cli.js';
import { cuttle, Folder, Note } from './cli-helpers.js';
import { tempDir } from './helpers.js';
import { adminPool, dropLeftovers, dropSchema, freshSchema, PG_URL } from './postgres-server.js';

/** The dump's records, without its header and trailer (which name the store and the time). */
const records = (dump: string) => dump.trim().split('\n').slice(1, -1);

const test = suite('cli: postgres:// stores');
test.after.each(dropLeftovers);

test('postgres:// and postgresql:// store strings: table and schema come out of the query, the rest is the connection string', () => {
  assert.equal(parseStoreSpec('postgres://localhost/app'), { kind: 'postgres', path: 'postgres://localhost/app' });
  assert.equal(parseStoreSpec('postgresql://u@db:6543/app?sslmode=disable&table=notes&schema=billing'), {
    kind: 'postgres',
    path: 'postgresql://u@db:6543/app?sslmode=disable',
    table: 'notes',
    schema: 'billing',
  });
});

test('cuttle migrate sqlite:./app.db postgres://... moves every object; verify, stats and export read it back; and back again', async () => {
  const dir = tempDir('cuttle-pg-cli-');
  const schema = freshSchema('cli');
  const target = `${PG_URL}?schema=${schema}`;
  try {
    const file = join(dir.path, 'app.db');
    const store = new Store({ backend: new SqliteBackend({ path: file }) });
    const folder = new Folder('inbox');
    folder.notes = Array.from({ length: 50 }, (_, i) => Object.assign(new Note(`n${i}`), { text: `note ${i} \u2028 😀`, when: new Date(i) }));
    await store.save(folder);
    await store.close();

    const migrated = cuttle(['migrate', '-q', `sqlite:${file}`, target]);
    assert.is(migrated.code, 0, migrated.stderr);
    const { rows } = await adminPool().query(`SELECT type, count(*)::int AS n FROM "${schema}".objects GROUP BY type ORDER BY type`);
    assert.equal(rows, [{ type: 'Folder', n: 1 }, { type: 'Note', n: 50 }]);

    const verified = cuttle(['verify', target]);
    assert.is(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /checked 51 objects: no problems/);
    const stats = JSON.parse(cuttle(['stats', '--json', target]).stdout);
    assert.is(stats.total.objects, 51);
    assert.is(stats.store, `postgres://127.0.0.1:5432/test#${schema}.objects`);

    const fromSqlite = join(dir.path, 'sqlite.ndjson');
    const fromPostgres = join(dir.path, 'postgres.ndjson');
    assert.is(cuttle(['export', '-q', '--no-timestamp', `sqlite:${file}`, fromSqlite]).code, 0);
    const exported = cuttle(['export', '-q', '--no-timestamp', target, fromPostgres]);
    assert.is(exported.code, 0, exported.stderr);
    assert.equal(records(readFileSync(fromPostgres, 'utf8')), records(readFileSync(fromSqlite, 'utf8')), 'the same records, byte for byte');

    const back = join(dir.path, 'back.db');
    assert.is(cuttle(['migrate', '-q', target, `sqlite:${back}`]).code, 0);
    assert.is(cuttle(['import', '-q', '--mode', 'replace', target, fromSqlite]).code, 0);
    assert.match(cuttle(['verify', `sqlite:${back}`]).stdout, /checked 51 objects: no problems/);
  } finally {
    dir.remove();
    await dropSchema(schema);
  }
});

test('an unreachable server fails with exit code 1 and a message naming the store (never its password), not a stack', async () => {
  const dir = tempDir('cuttle-pg-cli-');
  const url = 'postgres://postgres:secret@127.0.0.1:1/test';
  await new SqliteBackend({ path: join(dir.path, 'a.db') }).close(); // migrate's source must exist
  try {
    for (const args of [['stats', url], ['verify', url], ['export', url], ['migrate', `sqlite:${join(dir.path, 'a.db')}`, url]]) {
      const result = cuttle(args);
      assert.is(result.code, 1, args.join(' '));
      assert.match(result.stderr, new RegExp(`^cuttle ${args[0]}: postgres://127.0.0.1:1/test#public.objects: cannot .*ECONNREFUSED.*\\(ERR_BACKEND\\)\\n$`), result.stderr);
      assert.not.match(result.stderr, /secret/);
    }
  } finally {
    dir.remove();
  }
});

test.run();
