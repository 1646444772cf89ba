// PostgreSQL's query compiler: its expression indexes match the compiled expressions (the plan
// uses them), content PostgreSQL's json operators refuse is left to the evaluator, and a query
// still answers as the evaluator does around them.
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { postgresDialect } from '../src/backends/postgres-query.js';
import { compileSql } from '../src/backends/sql-query.js';
import { compareValues, InvalidQueryError, Serializable, Store, toQuery } from '../src/index.js';
import { PostgresBackend } from '../src/postgres.js';
import { rejects } from './helpers.js';
import { adminPool, dropSchema, freshSchema, listening, PG_URL } from './postgres-server.js';

class Task extends Serializable {
  static override typeName = 'PgTask';
  static indexes = ['priority', 'owner.name'];
  [field: string]: unknown;
}

interface Context {
  schema: string;
  backend: PostgresBackend;
  store: Store;
}
const test = suite<Context>('postgres queries', {} as Context);
test.before.each(async (context) => {
  context.schema = freshSchema('pgq');
  // Listening before the store is made (as the other PostgreSQL specs do): a backend closed while its
  // feed's first connection is still being made left that socket open, and the run never exited.
  context.backend = await listening(new PostgresBackend({ connectionString: PG_URL, schema: context.schema }));
  context.store = new Store({ backend: context.backend });
});
test.after.each(async ({ store, schema }) => {
  await store.close();
  await dropSchema(schema);
});

/**
 * The plan PostgreSQL chooses for the rows a query matches in SQL (or, `unchecked`, for those it
 * leaves to the evaluator), sequential scans off (so only a usable index can avoid one).
 */
async function plan(schema: string, options: Parameters<typeof toQuery>[0], which: 'exact' | 'unchecked' = 'exact', typeVersion = 1): Promise<string> {
  const compiled = compileSql(postgresDialect(`"${schema}"."objects"`), 'PgTask', toQuery(options, () => undefined), typeVersion, false)!;
  const client = await adminPool().connect();
  try {
    await client.query('SET enable_seqscan = off');
    const { rows } = await client.query(which === 'exact' ? { text: `EXPLAIN ${compiled.sql.exact}`, values: compiled.params as unknown[] } : { text: `EXPLAIN ${compiled.sql.unchecked}` });
    return rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n');
  } finally {
    await client.query('RESET enable_seqscan');
    client.release();
  }
}

const tasks = (count: number) => Array.from({ length: count }, (_, i) => Object.assign(new Task(`t${i}`), { priority: i % 10, title: `task ${i}`, owner: { name: `o${i % 3}` } }));

test('equality and range on a declared index use its expression index', async ({ schema, store }) => {
  await store.saveMany(tasks(300));
  assert.is((await store.find(Task, { where: { priority: 3 } })).length, 30);
  await adminPool().query(`ANALYZE "${schema}"."objects"`);
  assert.match(await plan(schema, { where: { priority: 3 } }), /Index (Only )?Scan (using|on) objects_qn_\w+/);
  assert.match(await plan(schema, { where: { priority: { $gte: 8 } } }), /Index (Only )?Scan (using|on) objects_qn_\w+/);
  // With 300 rows the planner may read the string at the path from a sort index, which holds it too.
  assert.match(await plan(schema, { where: { 'owner.name': 'o2' } }), /Index (Only )?Scan (using|on) objects_q[tad]_\w+/);
  // The rows left to the evaluator (annotated, opaque, or of another type version) are found through small indexes, for either kind of class version.
  for (const typeVersion of [1, 3]) {
    const steps = await plan(schema, { where: { priority: 3 } }, 'unchecked', typeVersion);
    assert.not.match(steps, /Seq Scan/, steps);
    // Each branch seeks in the index whose condition is its own: none is an OR to be pieced together from other indexes.
    assert.not.match(steps, /BitmapOr/, steps);
    assert.match(steps, /objects_qs_\w+/, steps);
  }
  assert.equal((await store.find(Task, { where: { 'owner.name': 'o2', priority: { $lt: 3 } }, sort: { priority: -1 } })).map((t) => t.id).slice(0, 3), ['t122', 't152', 't182']);
});

test('a sorted top-N on a declared index reads it in order, either direction, and answers as the evaluator does', async ({ schema, store }) => {
  const saved = tasks(300);
  // Values of every type at the sorted path, so the index order must be the type order too.
  Object.assign(saved[5]!, { priority: 'high' });
  Object.assign(saved[6]!, { priority: null });
  Object.assign(saved[7]!, { priority: true });
  delete (saved[8] as Record<string, unknown>).priority;
  await store.saveMany(saved);
  await store.find(Task, { where: { priority: 0 } }); // the first query makes the class's indexes
  await adminPool().query(`ANALYZE "${schema}"."objects"`);
  for (const direction of [1, -1] as const) {
    const options = { where: { 'owner.name': { $ne: 'o1' } }, sort: { priority: direction }, limit: 20 };
    const steps = await plan(schema, options);
    assert.match(steps, new RegExp(`Index Scan (Backward )?using objects_q${direction === 1 ? 'a' : 'd'}_\\w+`), steps);
    assert.not.match(steps, /Sort/, steps);
    const want = [...saved]
      .filter((task) => (task.owner as { name: string }).name !== 'o1')
      .sort((a, b) => direction * compareValues(a.priority, b.priority, () => undefined) || (a.id < b.id ? -1 : 1))
      .slice(0, 20)
      .map((task) => task.id);
    assert.equal((await store.find(Task, options)).map((task) => task.id), want, `sort ${direction}`);
  }
});

test('content with \\u0000, which json operators refuse, is judged by the evaluator', async ({ store }) => {
  await store.saveMany(tasks(20));
  await store.save(Object.assign(new Task('nul'), { priority: 9, title: 'a\u0000b' }));
  assert.equal((await store.find(Task, { where: { priority: 9 } })).map((t) => t.id), ['nul', 't19', 't9']);
  assert.equal((await store.find(Task, { where: { title: { $startsWith: 'a' } } })).map((t) => t.id), ['nul']);
  assert.is(await store.count(Task, { where: { priority: { $gt: 8 } } }), 3);
});

test('a path that is not compiled cannot be indexed', async ({ store }) => {
  await rejects(() => store.index(Task, 'tags.0'), InvalidQueryError, /tags\.0/);
});

test('a query in a transaction reads through its connection: its own writes, and not a commit made after its snapshot', async ({ store }) => {
  await store.saveMany(tasks(5));
  await store.transaction(
    async (tx) => {
      assert.is(await tx.count(Task, { where: { priority: { $gte: 0 } } }), 5);
      await tx.save(Object.assign(new Task('own'), { priority: 7 }));
      // Committed at once on another pooled connection, after the transaction's snapshot was taken.
      await store.save(Object.assign(new Task('outside'), { priority: 8 }));
      assert.equal((await tx.find(Task, { where: { priority: { $gte: 7 } } })).map((t) => t.id), ['own']);
      assert.is(await tx.count(Task, { where: { priority: { $gte: 0 } } }), 6);
    },
    { retries: 0 },
  );
  assert.equal((await store.find(Task, { where: { priority: { $gte: 7 } } })).map((t) => t.id), ['outside', 'own']);
});

test('making an index analyzes the table: the statistics on the annotations at the path have data at once', async ({ schema, store }) => {
  await store.saveMany(tasks(50));
  await store.index(Task, 'title');
  const { rows } = await adminPool().query<{ name: string; analyzed: boolean }>(
    `SELECT s.stxname AS name, EXISTS (SELECT 1 FROM pg_statistic_ext_data d WHERE d.stxoid = s.oid) AS analyzed
       FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE n.nspname = $1`,
    [schema],
  );
  assert.ok(rows.length > 0, 'statistics were made');
  assert.equal(rows.filter((row) => !row.analyzed), [], 'every statistic has data');
});

test('an index made already is not made again: index() returns while a write holds the table on another connection', async ({ schema, store }) => {
  await store.saveMany(tasks(5));
  await store.index(Task, 'title');
  const writer = await adminPool().connect();
  try {
    // A writer's lock (an insert holds the same) conflicts with CREATE INDEX, even IF NOT EXISTS.
    await writer.query('BEGIN');
    await writer.query(`LOCK TABLE "${schema}"."objects" IN ROW EXCLUSIVE MODE`);
    const again = store.index(Task, 'title');
    const outcome = await Promise.race([again.then(() => 'returned'), new Promise((resolve) => setTimeout(resolve, 3000, 'waited for the writer'))]);
    await writer.query('ROLLBACK');
    await again;
    assert.is(outcome, 'returned');
  } finally {
    writer.release();
  }
});

test('backends sharing a pool share its prepared statements: the same query text has the same name, another text another', async ({ schema }) => {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  const other = freshSchema('pgq');
  const first = new Store({ backend: await listening(new PostgresBackend({ pool, schema })) });
  const second = new Store({ backend: await listening(new PostgresBackend({ pool, schema: other })) });
  try {
    await first.saveMany(tasks(20));
    await second.saveMany(tasks(30));
    // One connection: every statement of both backends is prepared on it, in turn.
    for (let round = 0; round < 2; round++) {
      for (const [store, total] of [[first, 20], [second, 30], [first, 20]] as const) {
        assert.is(await store.count(Task, { where: { priority: 3 } }), total / 10);
        const top = (await store.find(Task, { where: { priority: { $gte: 9 } }, sort: { priority: -1 }, limit: 2 })).map((t) => t.id);
        assert.equal(top, total === 30 ? ['t19', 't29'] : ['t19', 't9']);
      }
    }
  } finally {
    await first.close();
    await second.close();
    await pool.end();
    await dropSchema(other);
  }
});

test('the rows left to the evaluator come once with a query\'s answer, not with each of its rows', async ({ schema }) => {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  const answers: unknown[][][] = [];
  const watched = new Proxy(pool, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      if (key !== 'query') return typeof value === 'function' ? value.bind(target) : value;
      return async (config: { text: string }, ...rest: unknown[]) => {
        const result = (await (value as (...a: unknown[]) => Promise<{ rows: unknown[][] }>).call(target, config, ...rest)) as { rows: unknown[][] };
        if (config.text.includes('json_agg')) answers.push(result.rows);
        return result;
      };
    },
  });
  const store = new Store({ backend: await listening(new PostgresBackend({ pool: watched, schema })) });
  try {
    // BigInts are annotated: SQL leaves them to the evaluator (which finds no BigInt >= the number 20); the numbers it judges itself.
    await store.saveMany(tasks(30).map((task, i) => Object.assign(task, { priority: i % 2 === 0 ? BigInt(i) : i })));
    const found = (await store.find(Task, { where: { priority: { $gte: 20 } }, sort: { priority: 1 } })).map((t) => t.id);
    assert.equal(found, ['t21', 't23', 't25', 't27', 't29']);
    assert.is(answers.length, 1);
    const rows = answers[0]!;
    assert.is(rows.length, 5, 'the five numbers SQL judged, one row each');
    assert.equal(rows.map((row) => row[row.length - 1] !== null), [true, false, false, false, false], 'the unjudged rows on the first row alone');
  } finally {
    await store.close();
    await pool.end();
  }
});

test('a query after index() runs a statement prepared after it (one prepared before kept being planned at every run)', async ({ schema }) => {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  const store = new Store({ backend: await listening(new PostgresBackend({ pool, schema })) });
  try {
    await store.saveMany(tasks(50));
    const options = { where: { title: { $startsWith: 'task 1' } }, sort: { title: -1 }, limit: 5 } as const;
    for (let i = 0; i < 3; i++) await store.find(Task, options);
    const now = (await pool.query<{ now: Date }>('SELECT clock_timestamp() AS now')).rows[0]!.now;
    await store.index(Task, 'title');
    assert.equal((await store.find(Task, options)).map((t) => t.id), ['t19', 't18', 't17', 't16', 't15']);
    // One connection: its prepared statements are the store's.
    const { rows } = await pool.query<{ statement: string; fresh: boolean }>(`SELECT statement, prepare_time > $1 AS fresh FROM pg_prepared_statements WHERE name LIKE 'cuttle find %'`, [now]);
    const used = rows.filter((row) => row.statement.includes("'{json,title}'") && row.statement.includes('LIMIT 5'));
    assert.equal(used.map((row) => row.fresh).sort(), [false, true], 'the query prepared once before the index and once after');
  } finally {
    await store.close();
    await pool.end();
  }
});

/** A class at type version 1, then 2, which keeps the points as `score`, ten times bigger. */
class ScoreV1 extends Serializable {
  static override typeName = 'PgScore';
  points = 0;
}
class ScoreV2 extends Serializable {
  static override typeName = 'PgScore';
  static version = 2;
  static upgrade(data: { points: number }): { score: number } {
    return { score: data.points * 10 };
  }
  score = 0;
}

test('a query reads the rows it leaves to the evaluator in one snapshot with the rest: a record rewritten meanwhile is found once', async ({ schema }) => {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  // After the first statement of a query below, another server rewrites a record at version 2 (as an upgrade does).
  let armed: ScoreV2 | undefined;
  const rewrite = async (score: ScoreV2) => {
    const other = new Store({ backend: await listening(new PostgresBackend({ connectionString: PG_URL, schema })) });
    await other.save(score);
    await other.close();
  };
  // The rewrite follows the query's first SELECT, whether on the pool or on a connection taken from it.
  const afterSelect = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, key) {
        const value = Reflect.get(object, key, object) as unknown;
        if (key === 'connect') return async () => afterSelect(await (value as () => Promise<object>).call(object));
        if (key !== 'query') return typeof value === 'function' ? value.bind(object) : value;
        return async (config: string | { text: string }, ...rest: unknown[]) => {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).call(object, config, ...rest);
          const text = typeof config === 'string' ? config : config.text;
          if (armed !== undefined && text.startsWith('SELECT')) {
            const score = armed;
            armed = undefined;
            await rewrite(score);
          }
          return result;
        };
      },
    });
  const hooked = afterSelect(pool);
  const old = new Store({ backend: await listening(new PostgresBackend({ pool: hooked, schema })) });
  const current = new Store({ backend: await listening(new PostgresBackend({ pool: hooked, schema })) });
  try {
    await old.saveMany([1, 2, 3].map((points) => Object.assign(new ScoreV1(`s${points}`), { points })));
    await current.index(ScoreV2, 'score');
    armed = Object.assign(new ScoreV2('s2'), { score: 20 });
    const found = (await current.find(ScoreV2, { where: { score: { $gte: 20 } } })).map((score) => `${score.id}=${score.score}`);
    assert.is(armed, undefined, 'the rewrite ran');
    assert.equal(found, ['s2=20', 's3=30']);
    armed = Object.assign(new ScoreV2('s1'), { score: 10 });
    assert.is(await current.count(ScoreV2, { where: { score: { $gte: 10 } } }), 3);
    assert.is(armed, undefined, 'the rewrite ran');
    // With skip, two statements: the rows for the evaluator first (s3, still at version 1), then the rest.
    armed = Object.assign(new ScoreV2('s3'), { score: 30 });
    const skipped = (await current.find(ScoreV2, { where: { score: { $gte: 10 } }, sort: { score: 1 }, skip: 1 })).map((score) => `${score.id}=${score.score}`);
    assert.is(armed, undefined, 'the rewrite ran');
    assert.equal(skipped, ['s2=20', 's3=30']);
  } finally {
    await old.close();
    await current.close();
    await pool.end();
  }
});

test.run();
