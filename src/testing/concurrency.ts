// Concurrency through a Store on any backend: part of the conformance suite (backendSuite calls
// concurrencySuite). Random saves, creates, loads and deletes of a few hot ids run concurrently in
// rounds; every round's results must fit one serial order of its operations (each key on its own:
// keys are independent), and once a round settles the cache must agree with the backend exactly.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError, Serializable, Store, type StorageBackend } from '../core.js';
import { nextTurn } from '../next-turn.js';
import type { BackendSuiteOptions } from './options.js';
import { seededRandom } from './random.js';

class Hot extends Serializable {
  static override typeName = 'Hot';
  tag = '';
}

/** What is stored under one id: nothing, or a version and the tag of the save that wrote it. */
type State = { version: number; tag: string } | undefined;

type Op =
  | { kind: 'save'; id: string; tag: string }
  | { kind: 'create'; id: string; tag: string }
  | { kind: 'delete'; id: string }
  | { kind: 'load'; id: string; cache: boolean }
  | { kind: 'exists'; id: string };

/** What an operation returned: a version, a conflict, a boolean, or a loaded state. */
type Outcome = { version: number } | { conflict: number } | { bool: boolean } | { loaded: State };

/** The state after `op` runs on `state`, and what it returns, or undefined if `outcome` cannot come from it. */
function step(state: State, op: Op, outcome: Outcome): { state: State } | undefined {
  switch (op.kind) {
    case 'save': {
      const version = (state?.version ?? 0) + 1;
      return 'version' in outcome && outcome.version === version ? { state: { version, tag: op.tag } } : undefined;
    }
    case 'create':
      if (state === undefined) return 'version' in outcome && outcome.version === 1 ? { state: { version: 1, tag: op.tag } } : undefined;
      return 'conflict' in outcome && outcome.conflict === state.version ? { state } : undefined;
    case 'delete':
      return 'bool' in outcome && outcome.bool === (state !== undefined) ? { state: undefined } : undefined;
    case 'exists':
      return 'bool' in outcome && outcome.bool === (state !== undefined) ? { state } : undefined;
    case 'load': {
      if (!('loaded' in outcome)) return undefined;
      const same = outcome.loaded === undefined ? state === undefined : state !== undefined && outcome.loaded.version === state.version && outcome.loaded.tag === state.tag;
      return same ? { state } : undefined;
    }
  }
}

/** Every state one serial order of `ops` (with their `outcomes`) can end in, starting from any of `starts`. */
function serialEnds(starts: readonly State[], ops: readonly Op[], outcomes: readonly Outcome[]): State[] {
  const ends = new Map<string, State>();
  const search = (state: State, left: number[]) => {
    if (left.length === 0) {
      ends.set(JSON.stringify(state ?? null), state);
      return;
    }
    for (const i of left) {
      const next = step(state, ops[i]!, outcomes[i]!);
      if (next) search(next.state, left.filter((j) => j !== i));
    }
  };
  for (const start of starts) search(start, ops.map((_, i) => i));
  return [...ends.values()];
}

const describeOp = (op: Op, outcome: Outcome) => `${op.kind}${'tag' in op ? `(${op.tag})` : ''}${op.kind === 'load' && !op.cache ? '(no cache)' : ''} -> ${JSON.stringify(outcome)}`;

/** Options: how many rounds, operations per round, hot ids. */
const ROUNDS = 250;
const OPS_PER_ROUND = 12;
const IDS = ['h1', 'h2', 'h3'];

export function concurrencySuite(name: string, makeBackend: () => StorageBackend | Promise<StorageBackend>, options: BackendSuiteOptions = {}): void {
  const test = suite<{ backend: StorageBackend }>(`conformance: ${name} concurrency`, {} as never);
  test.before.each(async (context) => {
    context.backend = await makeBackend();
  });
  test.after.each(async ({ backend }) => {
    await backend.close();
    await options.teardown?.();
  });

  test('the cases of the bug report: save + delete, delete + save, create + delete of one id, 30 times each: the cache agrees with the backend', async ({ backend }) => {
    const store = new Store({ backend });
    const hot = (tag: string) => Object.assign(new Hot('x'), { tag });
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['save + delete', () => Promise.all([store.save(hot('v2')), store.delete(Hot, 'x')])],
      ['delete + save', () => Promise.all([store.delete(Hot, 'x'), store.save(hot('v2'))])],
      ['create + delete', async () => {
        await store.delete(Hot, 'x');
        await Promise.all([store.save(hot('new'), { expectedVersion: 0 }), store.delete(Hot, 'x')]);
      }],
    ];
    for (const [name, run] of cases) {
      for (let i = 0; i < 30; i++) {
        await store.save(hot('v1'));
        await run();
        const record = await backend.load('Hot', 'x');
        const where = `${name}, run ${i}`;
        assert.is((await store.get(Hot, 'x'))?.tag, record && (JSON.parse(record.content) as { json: { tag: string } }).json.tag, `${where}: get`);
        if (record === undefined) assert.not.ok(store.cache.has(Hot, 'x'), `${where}: nothing stored, nothing cached`);
        assert.is(await store.exists(Hot, 'x'), record !== undefined, `${where}: exists`);
        assert.is(await store.count(Hot), record ? 1 : 0, `${where}: count`);
        assert.equal(await store.list(Hot), record ? ['x'] : [], `${where}: list`);
      }
    }
  });

  test(`${ROUNDS * OPS_PER_ROUND} random concurrent save/create/load/delete on ${IDS.length} hot ids fit one serial order, and the cache agrees with the backend (bug: a cache entry outlived its object)`, async ({ backend }) => {
    // CUTTLE_SEED repeats a run, where there is an environment (Node; a browser has none).
    const seed = Number((globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.CUTTLE_SEED ?? Date.now() % 1_000_000);
    const rand = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const store = new Store({ backend });
    const states = new Map<string, State[]>(IDS.map((id) => [id, [undefined]]));
    let tags = 0;
    const delays = [
      async () => {},
      async () => await Promise.resolve(),
      async () => await new Promise<void>((resolve) => nextTurn(resolve)),
      async () => await new Promise((resolve) => setTimeout(resolve, 0)),
    ];

    for (let round = 0; round < ROUNDS; round++) {
      const ops: Op[] = Array.from({ length: OPS_PER_ROUND }, (): Op => {
        const id = pick(IDS);
        const kind = pick(['save', 'save', 'create', 'delete', 'delete', 'load', 'load', 'exists'] as const);
        if (kind === 'save' || kind === 'create') return { kind, id, tag: `t${++tags}` };
        if (kind === 'load') return { kind, id, cache: rand() < 0.75 };
        return { kind, id };
      });
      const run = async (op: Op): Promise<Outcome> => {
        await pick(delays)();
        switch (op.kind) {
          case 'save':
            return { version: store.versionOf(await store.save(Object.assign(new Hot(op.id), { tag: op.tag })))! };
          case 'create':
            try {
              return { version: store.versionOf(await store.save(Object.assign(new Hot(op.id), { tag: op.tag }), { expectedVersion: 0 }))! };
            } catch (error) {
              if (error instanceof ConflictError) return { conflict: error.actualVersion };
              throw error;
            }
          case 'delete':
            return { bool: await store.delete(Hot, op.id) };
          case 'exists':
            return { bool: await store.exists(Hot, op.id) };
          case 'load': {
            const obj = await store.get(Hot, op.id, { cache: op.cache });
            return { loaded: obj && { version: store.versionOf(obj)!, tag: obj.tag } };
          }
        }
      };
      const outcomes = await Promise.all(ops.map(run));

      for (const id of IDS) {
        const mine = ops.flatMap((op, i) => (op.id === id ? [i] : []));
        const ends = serialEnds(states.get(id)!, mine.map((i) => ops[i]!), mine.map((i) => outcomes[i]!));
        assert.ok(
          ends.length > 0,
          `seed ${seed}, round ${round}, ${id}: no serial order gives these results, from ${JSON.stringify(states.get(id))}:\n  ` +
            mine.map((i) => describeOp(ops[i]!, outcomes[i]!)).join('\n  '),
        );
        states.set(id, ends);
        // Settled: the cache holds exactly what the backend holds, or nothing.
        const record = await backend.load('Hot', id);
        const cached = store.cache.peek(Hot, id);
        const where = `seed ${seed}, round ${round}, ${id}`;
        if (cached !== undefined) {
          assert.ok(record !== undefined, `${where}: the cache holds ${cached.tag} but nothing is stored`);
          assert.is(cached.tag, (JSON.parse(record.content) as { json: { tag: string } }).json.tag, `${where}: the cached copy is the stored one`);
          assert.is(store.versionOf(cached), record.version, `${where}: the cached copy has the stored version`);
        }
        assert.is(store.cache.has(Hot, id), cached !== undefined, `${where}: cache.has agrees with cache.peek`);
        assert.is(await store.exists(Hot, id), record !== undefined, `${where}: exists agrees with the backend`);
        const loaded = await store.get(Hot, id);
        assert.is(loaded?.tag, record && (JSON.parse(record.content) as { json: { tag: string } }).json.tag, `${where}: a load gives the stored object`);
      }
      assert.equal(await store.list(Hot), await backend.list('Hot'), `seed ${seed}, round ${round}: the kept id list is the backend's`);
      assert.is(await store.count(Hot), (await backend.list('Hot')).length);
    }
  });

  test.run();
}
