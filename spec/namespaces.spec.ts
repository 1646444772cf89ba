// Namespaces beyond the conformance section (src/testing/namespaces.ts): the Storage facade's
// option, dump files and backups of one namespace.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DumpFormatError, InMemoryBackend, InvalidOptionError, Serializable, SqliteBackend, Storage, Store, toQuery } from '../src/index.js';
import { rejects, tempDir, throwsError } from './helpers.js';

class Memo extends Serializable {
  static override typeName = 'Memo';
  text = '';
}
const memo = (id: string, text: string) => Object.assign(new Memo(id), { text });

const test = suite<{ dir: ReturnType<typeof tempDir> }>('namespaces', {} as never);
test.before.each((context) => {
  context.dir = tempDir('cuttle-ns-');
});
test.after.each(async ({ dir }) => {
  await Storage.close().catch(() => {});
  dir.remove();
});

test('Storage.configure and Storage.use take a namespace; a bad one opens nothing', async ({ dir }) => {
  const path = join(dir.path, 'app.db');
  throwsError(() => Storage.configure('sqlite', { path, namespace: 'a:b' }), InvalidOptionError, /Storage.configure\('sqlite'\): invalid namespace "a:b"/);
  assert.is(existsSync(path), false, 'no database was created');
  Storage.configure('sqlite', { path, namespace: 'billing' });
  assert.is(Storage.store.namespace, 'billing');
  await Storage.save(memo('m', 'billing'));

  const backend = new InMemoryBackend();
  Storage.use(backend, { namespace: 'one' });
  await Storage.save(memo('m', 'one'));
  Storage.use(backend, { namespace: 'two' });
  // The first store's backend is the second's: replacing the store did not close it.
  assert.is(await Storage.exists(Memo, 'm'), false);
  await Storage.save(memo('m', 'two'));
  assert.is((await new Store({ backend, namespace: 'one' }).load(Memo, 'm')).text, 'one');
  assert.equal(await backend.listTypes(), ['one:Memo', 'two:Memo']);

  const reopened = new Store({ backend: new SqliteBackend({ path }), namespace: 'billing' });
  assert.is((await reopened.load(Memo, 'm')).text, 'billing');
  assert.is(await new Store({ backend: reopened.backend }).count(Memo), 1, 'a view given as the backend keeps its namespace');
  await reopened.close();
});

test('a dump file of one namespace names it in its header and imports into another namespace', async ({ dir }) => {
  const backend = new SqliteBackend({ path: join(dir.path, 'app.db') });
  const alpha = new Store({ backend, namespace: 'alpha' });
  const beta = new Store({ backend, namespace: 'beta', registry: alpha.registry });
  const plain = new Store({ backend, registry: alpha.registry });
  await alpha.saveMany([memo('a', 'alpha'), memo('b', 'alpha')]);
  await plain.save(memo('a', 'plain'));
  const file = join(dir.path, 'alpha.ndjson');
  assert.is((await alpha.exportTo(file, { timestamp: false })).count, 2);
  const [header, first] = readFileSync(file, 'utf8').split('\n').map((line) => (line ? JSON.parse(line) : undefined));
  assert.is(header.namespace, 'alpha');
  assert.is(header.source, `${backend.name} (namespace alpha)`);
  assert.is(first.type, 'Memo');
  assert.equal(await beta.importFrom(file), { count: 2 });
  assert.equal(await beta.list(Memo), ['a', 'b']);
  assert.is((await plain.load(Memo, 'a')).text, 'plain', 'the default namespace is untouched');
  await plain.importFrom(file, { mode: 'replace' });
  assert.is((await plain.load(Memo, 'a', { cache: false })).text, 'alpha');
  assert.equal(await alpha.list(Memo), ['a', 'b']);
  assert.equal(await beta.list(Memo), ['a', 'b']);
  await plain.close();
});

test('a named namespace on SQLite queries in SQL, through its own expression index, and never sees another namespace', async ({ dir }) => {
  const backend = new SqliteBackend({ path: join(dir.path, 'q.db') });
  const billing = new Store({ backend, namespace: 'billing' });
  const other = new Store({ backend, namespace: 'shop', registry: billing.registry });
  await billing.index(Memo, 'text');
  await billing.saveMany([memo('a', 'x'), memo('b', 'y')]);
  await other.saveMany([memo('a', 'x'), memo('c', 'x')]);
  assert.ok(billing.backend.find, 'the view forwards find to SQLite');
  assert.equal((await billing.find(Memo, { where: { text: 'x' } })).map((m) => m.id), ['a']);
  assert.equal((await other.find(Memo, { where: { text: 'x' } })).map((m) => m.id), ['a', 'c']);
  assert.is(await billing.count(Memo, { where: { text: 'y' } }), 1);
  const plan = backend.explain('billing:Memo', toQuery({ where: { text: 'x' } }, () => undefined))?.join('\n') ?? '';
  assert.match(plan, /USING INDEX/, plan);
  await other.close();
  await billing.close();
});

test("a dump header's namespace must be a namespace name; a header without one is the default namespace's", async () => {
  const store = new Store({ namespace: 'n' });
  const dump = await new Store().exportData();
  assert.is(dump.header.namespace, undefined);
  await store.importData(dump);
  await rejects(store.importData({ ...dump, header: { ...dump.header, namespace: 'x:y' } }), DumpFormatError, /the header's namespace must be a namespace name, got "x:y"/);
});

test("a named namespace's backup is a dump of its own objects; the default namespace's is the SQLite file", async ({ dir }) => {
  const backend = new SqliteBackend({ path: join(dir.path, 'app.db') });
  const alpha = new Store({ backend, namespace: 'alpha' });
  const plain = new Store({ backend, registry: alpha.registry });
  await alpha.save(memo('a', 'alpha'));
  await plain.saveMany([memo('p', 'plain'), memo('q', 'plain')]);
  const named = await alpha.backup(join(dir.path, 'alpha.backup'));
  assert.equal(named, { format: 'dump', destination: join(dir.path, 'alpha.backup'), count: 1 });
  const whole = await plain.backup(join(dir.path, 'whole.db'));
  assert.is(whole.format, 'sqlite');
  const copy = new SqliteBackend({ path: join(dir.path, 'whole.db') });
  assert.equal(await copy.listTypes(), ['Memo', 'alpha:Memo'], 'every namespace is in the copy');
  await copy.close();
  await plain.close();
});

test.run();
