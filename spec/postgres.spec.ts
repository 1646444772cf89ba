import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BackendError, ClosedError, ConflictError, CorruptDataError, InMemoryBackend, InvalidOptionError, Serializable, Storage, Store, type RecordWrite } from '../src/index.js';
import { loadPg, pgFailure } from '../src/backends/postgres-driver.js';
import { POSTGRES_MIGRATIONS } from '../src/backends/postgres-schema.js';
import { PostgresBackend, type PostgresBackendOptions } from '../src/postgres.js';
import { backendSuite } from '../src/testing/index.js';
import { rejects, throwsError } from './helpers.js';
import { adminPool, dropLeftovers, dropSchema, freshSchema, listening, PG_URL } from './postgres-server.js';

let schema = freshSchema('conf');
const make = () => new PostgresBackend({ connectionString: PG_URL, schema });
/** The backend the suite's test works on now: the peer's changes must reach it. */
let current: PostgresBackend | undefined;
// Listening before the suite's stores cache anything: the feed's first connection is a reset.
backendSuite('postgres', async () => (current = await listening(make())), {
  reopen: async (backend) => {
    await backend.close();
    return (current = await listening(make()));
  },
  peer: () => listening(make()),
  // The peer's writes resolve once their NOTIFY is sent; one round trip on the listening connection delivers it.
  peerSettles: () => current!.catchUp(),
  atomicBatches: true,
  transactions: true,
  search: true,
  teardown: async () => {
    await dropSchema(schema);
    schema = freshSchema('conf');
  },
});

/** A backend on a fresh schema, with `extra` options; `done()` closes it and drops the schema. */
function fresh(extra: Partial<PostgresBackendOptions> = {}, label = 'pg') {
  const name = freshSchema(label);
  const open = (more: Partial<PostgresBackendOptions> = {}) =>
    new PostgresBackend({ ...(extra.pool ? {} : { connectionString: PG_URL }), schema: name, ...extra, ...more } as PostgresBackendOptions);
  const backend = open();
  return { backend, schema: name, open, done: async () => { await backend.close(); await dropSchema(name); } };
}

function w(id: string, extra: Partial<RecordWrite> = {}): RecordWrite {
  return { type: 'T', id, kind: 'object', content: `{"json":${JSON.stringify(id)}}`, ...extra };
}

/** A pg.Pool whose query() calls are counted (the backend's round trips). */
function countingPool(): { pool: pg.Pool; queries: string[] } {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
  pool.on('error', () => {});
  const queries: string[] = [];
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = (config: { name?: string; text: string }, ...rest: unknown[]) => {
    queries.push(config.name ?? config.text);
    return query(config, ...rest);
  };
  return { pool, queries };
}

const test = suite('PostgresBackend');
test.after.each(dropLeftovers);

test('options are checked where they enter, with exact messages', () => {
  const make = (options: unknown) => () => new PostgresBackend(options as PostgresBackendOptions);
  throwsError(make({ connectionString: PG_URL, tabel: 'x' }), InvalidOptionError, /unknown option "tabel" \(did you mean "table"\?\)/);
  throwsError(make({}), InvalidOptionError, /^PostgresBackend: give connectionString or pool \(one of them\), got neither$/);
  throwsError(make({ connectionString: PG_URL, pool: new pg.Pool() }), InvalidOptionError, /got both$/);
  throwsError(make({ connectionString: '' }), InvalidOptionError, /^PostgresBackend: connectionString must be a non-empty string, got ""$/);
  throwsError(make({ pool: {} }), InvalidOptionError, /^PostgresBackend: pool must be a pg.Pool, got an object \(Object\)$/);
  throwsError(make({ pool: new pg.Pool(), max: 3 }), InvalidOptionError, /^PostgresBackend: max applies to the backend's own pool; with pool, set it on your pool$/);
  throwsError(make({ connectionString: PG_URL, table: 'my-table' }), InvalidOptionError, /^PostgresBackend: table must match \[A-Za-z_\]\[A-Za-z0-9_\]\*, got "my-table"$/);
  throwsError(make({ connectionString: PG_URL, schema: 'a"b' }), InvalidOptionError, /schema must match/);
  throwsError(make({ connectionString: PG_URL, table: 't'.repeat(50), schema: 's'.repeat(10) }), InvalidOptionError, /at most 55 characters/);
  throwsError(make({ connectionString: PG_URL, max: 0 }), InvalidOptionError, /^PostgresBackend: max must be an integer in 1\.\.10000, got number 0$/);
  throwsError(make({ connectionString: PG_URL, pollInterval: 5 }), InvalidOptionError, /pollInterval must be an integer in 10\.\./);
  throwsError(make({ connectionString: PG_URL, statementTimeout: -1 }), InvalidOptionError, /statementTimeout must be an integer/);
  throwsError(make({ connectionString: PG_URL, now: 5 }), InvalidOptionError, /^PostgresBackend: now must be a function, got number 5$/);
});

test('without pg installed, making a backend says npm install pg', () => {
  throwsError(() => loadPg('pg-not-installed-here'), Error, /^cuttle's PostgreSQL backend needs the pg-not-installed-here package, which is not installed: npm install pg-not-installed-here$/);
});

test('importing cuttle or cuttle/postgres loads no pg (an optional peer); making a PostgresBackend does', () => {
  const dist = new URL('../dist/', import.meta.url).pathname;
  const script = `
    import { createRequire } from 'node:module';
    const Module = createRequire(import.meta.url)('node:module');
    const loaded = () => Object.keys(Module._cache).some((file) => file.includes('/node_modules/pg/'));
    await import(${JSON.stringify(dist + 'index.js')});
    const { PostgresBackend } = await import(${JSON.stringify(dist + 'postgres.js')});
    const before = loaded();
    await new PostgresBackend({ connectionString: ${JSON.stringify(PG_URL)} }).close();
    console.log(JSON.stringify({ before, after: loaded() }));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(JSON.parse(result.stdout), { before: false, after: true }, result.stderr);
});

test('the published types of cuttle and cuttle/postgres need no @types/pg (no .d.ts they reach imports pg)', () => {
  const dist = new URL('../dist/', import.meta.url).pathname;
  const seen = new Set<string>();
  const importsPg: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [, target] of text.matchAll(/from '([^']+)'|import\('([^']+)'\)/g)) {
      if (target === undefined) continue;
      if (target === 'pg' || target.startsWith('pg/')) importsPg.push(file.slice(dist.length));
      else if (target.startsWith('.')) visit(join(dirname(file), target.replace(/\.js$/, '.d.ts')));
    }
  };
  visit(join(dist, 'index.d.ts'));
  visit(join(dist, 'postgres.d.ts'));
  assert.ok(seen.has(join(dist, 'backends/postgres.d.ts')), 'the walk reaches the backend');
  assert.equal(importsPg, []);
});

test("Storage.configure('postgres', ...) opens it, with the facade's cache option", async () => {
  const schema = freshSchema('facade');
  const store = Storage.configure('postgres', { connectionString: PG_URL, schema, cache: { max: 10 } });
  assert.instance(store.backend, PostgresBackend);
  await store.save(new Doc('d1'));
  assert.is((await store.load(Doc, 'd1')).id, 'd1');
  throwsError(() => Storage.configure('postgres', { connectionString: PG_URL, tabel: 'x' } as never), InvalidOptionError, /unknown option "tabel" \(did you mean "table"\?\)/);
  Storage.use(new InMemoryBackend());
  await dropSchema(schema);
});

test('the table: columns, "C" collation on type and id, (type, id) key, schema version in <table>_meta', async () => {
  const { backend, schema, done } = fresh();
  await backend.write(w('a'));
  const { rows } = await adminPool().query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, c.collname AS collation
       FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid JOIN pg_namespace n ON n.oid = t.relnamespace
       LEFT JOIN pg_collation c ON c.oid = a.attcollation
      WHERE n.nspname = $1 AND t.relname = 'objects' AND a.attnum > 0 ORDER BY a.attnum`,
    [schema],
  );
  assert.equal(rows.map((r) => `${r.name} ${r.type}${r.collation === 'C' ? ' C' : ''}`), [
    'type text C', 'id text C', 'kind text', 'content text', 'version bigint', 'created_at bigint', 'updated_at bigint',
  ]);
  const meta = await adminPool().query(`SELECT schema_version FROM "${schema}".objects_meta`);
  assert.equal(meta.rows, [{ schema_version: POSTGRES_MIGRATIONS.length }]);
  const key = await adminPool().query(`SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = '"${schema}".objects'::regclass`);
  assert.equal(key.rows.map((r) => r.def.replace(/.* USING /, '')), ['btree (type, id)'], 'one index, the primary key');
  await done();
});

test('several processes opening a new table at once take turns (advisory lock): all succeed, one table', async () => {
  const name = freshSchema('race');
  const backends = Array.from({ length: 6 }, () => new PostgresBackend({ connectionString: PG_URL, schema: name }));
  await Promise.all(backends.map((backend, i) => backend.write(w(`b${i}`))));
  assert.is(await backends[0]!.count('T'), 6);
  await Promise.all(backends.map((backend) => backend.close()));
  await dropSchema(name);
});

test('a table that is not cuttle\'s, or is newer, is refused with CorruptDataError naming it', async () => {
  const name = freshSchema('foreign');
  await adminPool().query(`CREATE SCHEMA "${name}"; CREATE TABLE "${name}".objects (x int)`);
  const foreign = new PostgresBackend({ connectionString: PG_URL, schema: name });
  await rejects(foreign.load('T', 'a'), CorruptDataError, new RegExp(`^${name}.objects is not a cuttle table: it exists without objects_meta`));
  await foreign.close();
  await adminPool().query(`DROP TABLE "${name}".objects`);
  const backend = new PostgresBackend({ connectionString: PG_URL, schema: name });
  await backend.write(w('a'));
  await backend.close();
  await adminPool().query(`UPDATE "${name}".objects_meta SET schema_version = 99`);
  const newer = new PostgresBackend({ connectionString: PG_URL, schema: name });
  await rejects(newer.load('T', 'a'), CorruptDataError, /has schema version 99, newer than the 1 this version of cuttle reads/);
  await newer.close();
  await dropSchema(name);
});

test('content holding U+0000 or starting with U+0001 round-trips byte for byte on every path; JSON is stored as it is', async () => {
  const { backend, schema, done } = fresh();
  const contents = ['a\u0000b', '\u0000', '\u0001', '\u0001\u0000\u00011\u00010', 'x\u0001y', '\u0000\u0000end', '', '{"json":"\\u0000"}'];
  for (const [i, content] of contents.entries()) assert.is((await backend.write(w(`w${i}`, { content }))).content, content);
  await backend.writeMany(contents.map((content, i) => w(`m${i}`, { content })));
  await backend.putMany(contents.map((content, i) => ({ type: 'T', id: `p${i}`, kind: 'object', content, version: 3, updatedAt: 5 })));
  await backend.put({ type: 'T', id: 'single', kind: 'object', content: contents[0]!, version: 1, updatedAt: 1 });
  await backend.importRecords((async function* () {
    for (const [i, content] of contents.entries()) yield { type: 'I', id: `i${i}`, kind: 'object' as const, content, version: 1, updatedAt: 1 };
  })(), { replace: false });
  for (const [i, content] of contents.entries()) {
    for (const id of [`w${i}`, `m${i}`, `p${i}`]) assert.is((await backend.load('T', id))?.content, content, `${id}: ${JSON.stringify(content)}`);
    assert.is((await backend.load('I', `i${i}`))?.content, content);
  }
  assert.is((await backend.load('T', 'single'))?.content, contents[0]);
  assert.equal((await backend.loadMany('T', contents.map((_, i) => `w${i}`))).map((r) => r?.content), contents);
  const exported = new Map<string, string>();
  for await (const record of backend.records()) exported.set(`${record.type}/${record.id}`, record.content);
  for (const [i, content] of contents.entries()) assert.is(exported.get(`I/i${i}`), content);
  const raw = await adminPool().query(`SELECT content FROM "${schema}".objects WHERE type = 'T' AND id = 'w7'`);
  assert.is(raw.rows[0].content, '{"json":"\\u0000"}', 'JSON text is stored unchanged');
  await done();
});

test('a caller\'s pool is used and not closed; pool status is reported', async () => {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 3 });
  const { backend, done } = fresh({ pool });
  await backend.write(w('a'));
  assert.is(backend.pool.max, 3);
  assert.ok(backend.pool.size >= 1 && backend.pool.size <= 3, `size ${backend.pool.size}`);
  assert.is(backend.pool.borrowed, 0);
  assert.is(backend.pool.available, backend.pool.size);
  assert.is(backend.pool.pending, 0);
  await done();
  assert.equal((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool still works after close');
  await pool.end();
  const own = fresh({ max: 2 });
  await Promise.all(Array.from({ length: 6 }, (_, i) => own.backend.write(w(`x${i}`))));
  assert.equal({ ...own.backend.pool, size: 0, available: 0 }, { size: 0, available: 0, borrowed: 0, pending: 0, max: 2 });
  assert.ok(own.backend.pool.size <= 2);
  await own.done();
  await rejects(own.backend.load('T', 'x0'), ClosedError);
});

test('round trips: a save is one statement (and one NOTIFY), loadMany and deleteMany of 100 ids one statement each', async () => {
  const { pool, queries } = countingPool();
  const { backend, done } = fresh({ pool });
  await backend.write(w('warm-up'));
  queries.length = 0;
  await backend.write(w('a'));
  assert.equal(queries, ['cuttle public.objects write'.replace('public', backend.table.split('.')[0]!), 'cuttle notify']);
  const ids = Array.from({ length: 100 }, (_, i) => `id${i}`);
  await backend.writeMany(ids.map((id) => w(id)));
  queries.length = 0;
  const records = await backend.loadMany('T', [...ids, 'missing']);
  assert.is(queries.length, 1, 'loadMany: one statement');
  assert.equal(records.map((r) => r?.id), [...ids, undefined]);
  assert.equal(records[5]?.content, '{"json":"id5"}');
  queries.length = 0;
  assert.equal(await backend.deleteMany('T', ['id1', 'missing', 'id2']), [true, false, true]);
  assert.equal(queries.length, 2, 'deleteMany: one statement, one NOTIFY');
  assert.is(await backend.count('T'), 102 - 2, 'warm-up, a and 100 ids, less 2');
  await done();
  await pool.end();
});

test('writeMany: an object written twice in one batch gets both versions in order; checked writes keep their place', async () => {
  const { backend, done } = fresh();
  await backend.write(w('a'));
  const stored = await backend.writeMany([w('a'), w('b'), w('a', { content: '{"json":"last"}' }), w('c', { expectedVersion: 0 }), w('b', { expectedVersion: 1 })]);
  assert.equal(stored.map((r) => `${r.id}@${r.version}`), ['a@2', 'b@1', 'a@3', 'c@1', 'b@2']);
  assert.is((await backend.load('T', 'a'))?.content, '{"json":"last"}');
  // 2,500 rows: three multi-row statements in one transaction.
  const many = await backend.writeMany(Array.from({ length: 2500 }, (_, i) => w(`n${i}`)));
  assert.is(many.length, 2500);
  assert.is(await backend.count('T'), 2503);
  await rejects(backend.writeMany((function* () {
    yield w('never1');
    throw new Error('the iterable failed');
  })()), Error, /the iterable failed/);
  assert.is(await backend.exists('T', 'never1'), false, 'an iterable that throws writes nothing');
  await done();
});

test('importRecords is all or nothing, replace included', async () => {
  const { backend, done } = fresh();
  await backend.write(w('kept'));
  const failing = async function* () {
    for (let i = 0; i < 2500; i++) yield { type: 'T', id: `r${i}`, kind: 'object' as const, content: '{}', version: 2, updatedAt: 1 };
    throw new Error('bad line');
  };
  await rejects(backend.importRecords(failing(), { replace: true }), Error, /bad line/);
  assert.equal(await backend.list('T'), ['kept']);
  const good = async function* () {
    for (let i = 0; i < 2500; i++) yield { type: 'T', id: `r${i}`, kind: 'object' as const, content: '{}', version: 2, updatedAt: 1 };
  };
  assert.is(await backend.importRecords(good(), { replace: true }), 2500);
  assert.is(await backend.count('T'), 2500);
  assert.is(await backend.exists('T', 'kept'), false);
  await done();
});

test('records() streams through a cursor: in order, a consumer that stops early frees its connection, close() ends an abandoned one', async () => {
  const { backend, done } = fresh({ max: 2 });
  await backend.writeMany(Array.from({ length: 1200 }, (_, i) => w(`r${String(i).padStart(4, '0')}`)));
  let seen = 0;
  let last = '';
  for await (const record of backend.records()) {
    assert.ok(record.id > last);
    last = record.id;
    seen++;
  }
  assert.is(seen, 1200);
  for await (const record of backend.records()) if (record.id === 'r0010') break;
  assert.is(backend.pool.borrowed, 0, 'stopped early: the connection is back in the pool');
  const abandoned = backend.records();
  await abandoned.next();
  assert.is(backend.pool.borrowed, 1);
  await done(); // would hang if the abandoned cursor's connection were waited for
  await rejects(abandoned.next(), ClosedError);
});

test('strict reads: loadVersion is the stored version, or undefined', async () => {
  const { backend, done } = fresh();
  assert.is(await backend.loadVersion('T', 'a'), undefined);
  await backend.write(w('a'));
  await backend.write(w('a'));
  assert.is(await backend.loadVersion('T', 'a'), 2);
  await done();
});

test('expectedVersion holds across backends (other connections): 4 x 25 checked increments of one counter lose nothing', async () => {
  const { backend, open, done } = fresh();
  const others = [backend, open(), open(), open()];
  await backend.write(w('counter', { content: '0' }));
  await Promise.all(others.map(async (b) => {
    for (let done = 0; done < 25; ) {
      const record = (await b.load('T', 'counter'))!;
      try {
        await b.write(w('counter', { content: String(Number(record.content) + 1), expectedVersion: record.version }));
        done++;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
    }
  }));
  const final = await backend.load('T', 'counter');
  assert.is(final?.content, '100');
  assert.is(final?.version, 101);
  await Promise.all(others.slice(1).map((b) => b.close()));
  await done();
});

test('failures reach the caller as BackendError naming the store: SQLSTATE (statement timeout 57014, terminated 57P01), refused connection', async () => {
  const { backend, schema, done } = fresh({ statementTimeout: 2000 });
  const store = new Store({ backend, cache: false });
  await store.save(new Doc('a'));
  const locker = await adminPool().connect();
  try {
    await locker.query(`BEGIN; LOCK TABLE "${schema}".objects IN ACCESS EXCLUSIVE MODE`);
    const timeout = await rejects(store.get(Doc, 'a'), BackendError);
    assert.is(timeout.systemCode, '57014');
    assert.match(timeout.message, new RegExp(`^postgres://127.0.0.1:5432/test#${schema}.objects: cannot load Doc "a": canceling statement due to statement timeout \\(57014\\)$`));
    const pending = rejects(store.get(Doc, 'a'), BackendError);
    // Once the load waits for the lock (before its statement timeout), its connection is ended.
    for (let ended = 0; ended === 0; ) {
      // From another connection: inside the locker's transaction pg_stat_activity would not change.
      const { rowCount } = await adminPool().query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cuttle' AND wait_event_type = 'Lock' AND query LIKE $1`,
        [`%${schema}%`],
      );
      ended = rowCount ?? 0;
    }
    const terminated = await pending;
    assert.is(terminated.systemCode, '57P01');
  } finally {
    await locker.query('ROLLBACK');
    locker.release();
  }
  assert.is((await store.get(Doc, 'a'))?.id, 'a', 'the pool replaces the ended connection');
  await done();
  const nowhere = new PostgresBackend({ connectionString: 'postgres://postgres@127.0.0.1:1/test' });
  const refused = await rejects(new Store({ backend: nowhere, cache: false }).save(new Doc('x')), BackendError);
  assert.is(refused.systemCode, 'ECONNREFUSED');
  assert.match(refused.message, /^postgres:\/\/127.0.0.1:1\/test#public.objects: cannot save Doc "x": .*ECONNREFUSED/);
  await nowhere.close();
});

test('pg\'s code-less connection failures get SQLSTATE 08006 / 08001', () => {
  const lost = pgFailure(new Error('Connection terminated unexpectedly')) as Error & { code: string; cause: unknown };
  assert.is(lost.code, '08006');
  assert.is(lost.message, 'Connection terminated unexpectedly');
  assert.is((pgFailure(new Error('timeout exceeded when trying to connect')) as { code: string }).code, '08001');
  const other = new TypeError('x');
  assert.is(pgFailure(other), other, 'anything else passes as it is');
});

test('strictReads: a cached load checks the stored version, so another server\'s save is read even when no notification came', async () => {
  // The feed listens on a port where nothing answers: no notification ever arrives.
  const { backend, open, done } = fresh({ listenConnectionString: 'postgres://postgres@127.0.0.1:1/test', pollInterval: 60_000 }, 'strict');
  const other = open();
  const loose = new Store({ backend });
  const strict = new Store({ backend, strictReads: true, registry: loose.registry });
  const theirs = new Store({ backend: other, cache: false, registry: loose.registry });
  const a = await strict.save(Object.assign(new Doc('a'), { n: 1 }));
  await loose.load(Doc, 'a');
  assert.is(await strict.load(Doc, 'a'), a, 'unchanged: the cached instance');
  await theirs.save(Object.assign(new Doc('a'), { n: 2 }));
  assert.is(((await loose.load(Doc, 'a')) as Doc & { n: number }).n, 1, 'without strictReads: the stale copy (no notification came)');
  const fresh2 = (await strict.load(Doc, 'a')) as Doc & { n: number };
  assert.is(fresh2.n, 2, 'with strictReads: read again');
  assert.is(await strict.load(Doc, 'a'), fresh2, 'and cached again');
  await theirs.delete(Doc, 'a');
  assert.is(await strict.get(Doc, 'a'), undefined, 'a delete by the other is seen too');
  throwsError(() => new Store({ backend, strictReads: 'yes' as never }), InvalidOptionError, /Store: strictReads must be one of true, false, got "yes"/);
  await other.close();
  await done();
});

test.run();

class Doc extends Serializable {
  static override typeName = 'Doc';
}
