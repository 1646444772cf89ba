// The PostgreSQL change feed at the backend level: what a listener hears from another backend on
// the same table, and how the listening connection survives being killed, going silent, or
// missing a notification.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError, type BackendChange, type RecordWrite, type StoredRecord } from '../src/index.js';
import { encodeChanges, encodeSeqs, decodePayload, MAX_PAYLOAD_BYTES } from '../src/backends/postgres-listener.js';
import { PostgresBackend, type PostgresBackendOptions } from '../src/postgres.js';
import { adminPool, dropLeftovers, dropSchema, freshSchema, PG_URL } from './postgres-server.js';
import { startProxy } from './tcp-proxy.js';

/** Everything a listener heard, and a way to wait for something. */
class Heard {
  readonly changes: BackendChange[] = [];
  #waiters: Array<() => void> = [];
  readonly listener = (batch: readonly BackendChange[]) => {
    this.changes.push(...batch);
    for (const wake of this.#waiters.splice(0)) wake();
  };

  /** Resolves once `predicate` holds for what was heard; fails after 20 s (a generous bound, not a timing assertion). */
  async until(what: string, predicate: (changes: BackendChange[]) => boolean): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!predicate(this.changes)) {
      if (Date.now() > deadline) throw new Error(`never heard ${what}; heard ${JSON.stringify(this.changes)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  resets(): number {
    return this.changes.filter((change) => change.reset).length;
  }

  /** `type/id@version` or `type/id deleted`, or `reset`, for each change heard. */
  keys(): string[] {
    return this.changes.map((c) => (c.reset ? 'reset' : `${c.type}/${c.id}${c.deleted ? ' deleted' : `@${c.version}`}`));
  }
}

function w(id: string, extra: Partial<RecordWrite> = {}): RecordWrite {
  return { type: 'T', id, kind: 'object', content: '{"json":1}', ...extra };
}

const record = (id: string, version = 1): StoredRecord => ({ type: 'T', id, kind: 'object', content: '{}', version, updatedAt: 1 });

/** Two backends on one fresh table: `a` listens, `b` writes. */
function pair(options: Partial<PostgresBackendOptions> = {}) {
  const schema = freshSchema('feed');
  const open = (more: Partial<PostgresBackendOptions> = {}) => new PostgresBackend({ connectionString: PG_URL, schema, ...options, ...more });
  const a = open();
  const b = open({ listenConnectionString: undefined, pollInterval: undefined });
  return {
    a,
    b,
    schema,
    async done() {
      await a.close();
      await b.close();
      await dropSchema(schema);
    },
  };
}

/**
 * Subscribes to `backend` and, when the feed was not listening yet, waits for the reset that says
 * it listens now (a listener joining a feed that listens already misses nothing, and hears no reset).
 */
async function listen(backend: PostgresBackend): Promise<{ heard: Heard; stop: () => void }> {
  const heard = new Heard();
  const joined = backend.feed.state === 'listening';
  const stop = backend.changes(heard.listener);
  if (!joined) await heard.until('the first reset', (changes) => changes.some((c) => c.reset));
  return { heard, stop };
}

/** A write by `b` that `heard` must hear, so that everything `b` did before has been heard too. */
async function marker(b: PostgresBackend, heard: Heard, id: string): Promise<void> {
  await b.write({ type: 'Marker', id, kind: 'object', content: '{}' });
  await heard.until(`Marker/${id}`, (changes) => changes.some((c) => !c.reset && c.type === 'Marker' && c.id === id));
}

/** The server pids of the listening connections on `schema`'s table. */
async function listenerPids(schema: string): Promise<number[]> {
  const { rows } = await adminPool().query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = 'cuttle listener' AND query LIKE $1`,
    [`%"${schema}"%`],
  );
  return rows.map((row) => row.pid);
}

const test = suite('PostgreSQL change feed');
test.after.each(dropLeftovers);

test('a listener hears a reset when the feed connects, then exactly what another backend changes: saves, deletes, batches; clear and import as resets; never its own', async () => {
  const { a, b, done } = pair();
  const { heard } = await listen(a);
  assert.equal(heard.keys(), ['reset']);
  await a.write(w('own')); // not reported: a's own
  await b.write(w('x'));
  await b.write(w('x', { expectedVersion: 1 }));
  await b.writeMany([w('y'), w('z')]);
  await b.put(record('p', 7));
  await b.putMany([record('q', 2), record('r', 3)]);
  await b.delete('T', 'x');
  await b.delete('T', 'nothing'); // deleted nothing: nothing to report
  await b.deleteMany('T', ['y', 'nothing', 'z']);
  await a.delete('T', 'own');
  await marker(b, heard, 'm1');
  assert.equal(heard.keys(), [
    'reset', 'T/x@1', 'T/x@2', 'T/y@1', 'T/z@1', 'T/p@7', 'T/q@2', 'T/r@3', 'T/x deleted', 'T/y deleted', 'T/z deleted', 'Marker/m1@1',
  ]);
  heard.changes.length = 0;
  await b.clear();
  await b.importRecords((async function* () {
    yield record('i1');
  })(), { replace: false });
  await marker(b, heard, 'm2');
  assert.equal(heard.keys(), ['reset', 'reset', 'Marker/m2@1']);
  assert.equal(a.feed.state, 'listening');
  await done();
});

test('sequence numbers travel as sorted runs; a list too long to carry is left out (the poll then resets)', () => {
  assert.is(encodeSeqs([9, 5, 7, 8, 12, 5]), '[5,[7,9],12]');
  assert.equal(decodePayload(encodeChanges('o', [3, 1, 2], [])[0]!)!.seqs, [1, 2, 3]);
  assert.equal(decodePayload('{"o":"o","s":4,"c":[]}')!.seqs, [4], 'one number, as cuttle wrote before');
  assert.is(encodeSeqs(Array.from({ length: 2000 }, (_, i) => i * 2 + 1)), '[]');
  assert.is(decodePayload('{"o":"o","s":"5","c":[]}'), undefined);
});

test('a batch too large for 8 notifications arrives as one reset; every payload stays under 8,000 bytes', async () => {
  const changes = Array.from({ length: 2000 }, (_, i) => ({ type: 'T', id: `${'😀'.repeat(60)}${i}`, version: i, deleted: i % 2 === 0 }));
  const few = encodeChanges('origin', [5], changes.slice(0, 100));
  assert.ok(few.length > 1, 'split over several payloads');
  for (const payload of few) assert.ok(Buffer.byteLength(payload) <= MAX_PAYLOAD_BYTES, `${Buffer.byteLength(payload)} bytes`);
  assert.equal(few.flatMap((payload) => decodePayload(payload)!.changes), changes.slice(0, 100));
  assert.equal(few.flatMap((payload) => decodePayload(payload)!.seqs), [5], 'the first payload carries the numbers');
  assert.equal(encodeChanges('origin', [5], changes).map((p) => decodePayload(p)), [{ origin: 'origin', seqs: [5], changes: [{ reset: true }] }]);

  const { a, b, done } = pair();
  const { heard } = await listen(a);
  await b.writeMany(Array.from({ length: 2000 }, (_, i) => w(`${'x'.repeat(200)}${i}`)));
  await marker(b, heard, 'm');
  assert.equal(heard.keys(), ['reset', 'reset', 'Marker/m@1']);
  await done();
});

test('a backend closed while its feed is still connecting leaves no listening connection open (bug: the connection was made after close, and kept the process alive)', async () => {
  for (const delay of [0, 1, 5, 20, 50, 100]) {
    const { a, schema, done } = pair();
    a.changes(() => {});
    await new Promise((resolve) => setTimeout(resolve, delay));
    await a.close();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await listenerPids(schema), [], `closed ${delay} ms after subscribing`);
    await done();
  }
});

test('unsubscribe: that listener hears nothing more, the others go on; the last one out closes the listening connection', async () => {
  const { a, b, schema, done } = pair();
  const first = await listen(a);
  const second = await listen(a);
  assert.equal(second.heard.keys(), [], 'joining a feed that listens: no reset');
  first.stop();
  first.stop(); // twice is harmless
  await marker(b, second.heard, 'after');
  assert.not.ok(first.heard.keys().includes('Marker/after@1'));
  assert.equal(await listenerPids(schema), [await listenerPids(schema).then((p) => p[0]!)], 'one listening connection for both');
  second.stop();
  assert.is(a.feed.state, 'idle');
  const third = await listen(a);
  await marker(b, third.heard, 'again');
  third.stop();
  await done();
});

test('a listener that throws does not break the feed or the other listeners (a warning says so)', async () => {
  const { a, b, done } = pair();
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  const stopThrower = a.changes(() => {
    throw new Error('listener bug');
  });
  const { heard } = await listen(a);
  await marker(b, heard, 'one');
  await marker(b, heard, 'two');
  await new Promise((resolve) => setImmediate(resolve));
  process.off('warning', onWarning);
  assert.ok(warnings.some((message) => message.includes('listener bug')), JSON.stringify(warnings));
  stopThrower();
  await done();
});

test('the listening connection killed by the server (pg_terminate_backend) is replaced: a reset, then changes again', async () => {
  const { a, b, schema, done } = pair({ pollInterval: 200 });
  const { heard } = await listen(a);
  const [pid] = await listenerPids(schema);
  assert.ok(pid, 'the listening connection is visible');
  await adminPool().query('SELECT pg_terminate_backend($1)', [pid]);
  await b.write(w('during')); // while the listener may be down: covered by the reset on reconnect
  await heard.until('a second reset', () => heard.resets() >= 2);
  assert.is(a.feed.connects, 2);
  assert.match(String(a.feed.lastError?.message), /terminat/i);
  await marker(b, heard, 'after');
  const keys = heard.keys();
  assert.ok(keys.lastIndexOf('reset') > keys.indexOf('T/during@1'), `the write during the outage is heard or followed by a reset: ${keys}`);
  assert.not.equal(await listenerPids(schema), [pid]);
  await done();
});

test('a listening connection that goes silent (the network, not the server) is taken for dead by the heartbeat and replaced', async () => {
  const proxy = await startProxy({ host: '127.0.0.1', port: 5432 }, 'test');
  const { a, b, done } = pair({ listenConnectionString: proxy.url, pollInterval: 100 });
  const { heard } = await listen(a);
  proxy.freeze();
  await b.write(w('unheard'));
  await heard.until('a reset after the freeze', () => heard.resets() >= 2);
  assert.match(String(a.feed.lastError?.message), /did not answer within 100 ms/);
  assert.ok(a.feed.connects >= 2, `reconnected (${a.feed.connects} connects)`);
  await marker(b, heard, 'after');
  await done();
  await proxy.close();
});

test('a change whose notification never came (its writer died between commit and NOTIFY) is caught by the poll: a reset', async () => {
  const { a, b, schema, done } = pair({ pollInterval: 300 });
  const { heard } = await listen(a);
  await b.write(w('x'));
  await heard.until('T/x', () => heard.keys().includes('T/x@1'));
  // What a writer does before its NOTIFY: the row and the change sequence, committed.
  await adminPool().query(`UPDATE "${schema}".objects SET version = version + 1 WHERE id = 'x'; SELECT nextval('"${schema}".objects_changes')`);
  await heard.until('the poll\'s reset', () => heard.resets() >= 2);
  assert.is(a.feed.missed, 1, 'the reset came from the poll, not from a reconnect');
  // Heard changes (and own writes) keep the poll quiet: two more polls find nothing unheard.
  await a.write(w('own'));
  await marker(b, heard, 'm');
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.is(a.feed.missed, 1);
  await done();
});

test('a change whose notification never came is caught by the poll even when later changes were heard (bug: the poll compared only the highest number heard)', async () => {
  const { a, b, schema, done } = pair({ pollInterval: 300 });
  const { heard } = await listen(a);
  // What a writer that died between its commit and its NOTIFY leaves: the row and a sequence number, committed.
  await adminPool().query(`UPDATE "${schema}".objects SET version = version + 1 WHERE id = 'none'; SELECT nextval('"${schema}".objects_changes')`);
  // Then another writer's change, notified as usual, with a higher number.
  await marker(b, heard, 'after');
  await heard.until('the poll\'s reset', () => heard.resets() >= 2);
  assert.is(a.feed.missed, 1);
  await done();
});

test('numbers taken by a batch that rolled back, or by a transaction whose COMMIT lost a conflict, are announced as unused: no reset', async () => {
  const { a, b, done } = pair({ pollInterval: 300 });
  const { heard } = await listen(a);
  await b.write(w('x'));
  // A checked write takes a number; the conflict after it rolls the whole batch back.
  const refused = await b.writeMany([w('y', { expectedVersion: 0 }), w('x', { expectedVersion: 5 })]).catch((error: unknown) => error);
  assert.instance(refused, ConflictError);
  await marker(b, heard, 'm');
  await new Promise((resolve) => setTimeout(resolve, 800));
  assert.is(a.feed.missed, 0, 'no number went unheard');
  assert.equal(heard.keys(), ['reset', 'T/x@1', 'Marker/m@1']);

  // Write skew at SERIALIZABLE: each transaction reads both objects and writes one. The second to
  // commit loses at its COMMIT (after taking its number), and runs again.
  await b.writeMany([w('p'), w('q')]);
  const gate = () => {
    let open!: () => void;
    return { wait: new Promise<void>((resolve) => (open = resolve)), open: () => open() };
  };
  const [read1, read2, write1, held2, commit2] = [gate(), gate(), gate(), gate(), gate()];
  let attempts = 0;
  const first = b.transaction(async (tx) => {
    await tx.load('T', 'p');
    await tx.load('T', 'q');
    read1.open();
    await write1.wait;
    await tx.write(w('q'));
  }, { retries: 3 });
  const second = b.transaction(async (tx) => {
    attempts++;
    await tx.load('T', 'p');
    await tx.load('T', 'q');
    await tx.write(w('p'));
    if (attempts > 1) return;
    read2.open();
    held2.open();
    await commit2.wait;
  }, { retries: 3 });
  await read1.wait;
  await read2.wait;
  await held2.wait;
  write1.open();
  await first;
  commit2.open();
  await second;
  assert.is(attempts, 2, 'the second transaction lost its first COMMIT and ran again');
  await marker(b, heard, 'm2');
  await new Promise((resolve) => setTimeout(resolve, 800));
  assert.is(a.feed.missed, 0, 'the lost COMMIT\'s number was announced as unused');
  await done();
});

test('subscribing after close is a ClosedError; close ends the listening connection', async () => {
  const { a, schema, done } = pair();
  await listen(a);
  await done();
  assert.equal(await listenerPids(schema), []);
  assert.is(a.feed.state, 'closed');
  assert.throws(() => a.changes(() => {}), /is closed/);
});

test.run();
