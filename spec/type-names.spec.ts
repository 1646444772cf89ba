// Type names that are also names of Object.prototype's properties (__proto__, constructor,
// toString, ...) are ordinary keys wherever cuttle builds an object keyed by type name.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Container, FileBackend, InMemoryBackend, Serializable, SqliteBackend, Store, type StorageBackend } from '../src/index.js';
import { tempDir } from './helpers.js';

class Proto extends Serializable {
  static override typeName = '__proto__';
}
class Ctor extends Serializable {
  static override typeName = 'constructor';
}
class ToString extends Serializable {
  static override typeName = 'toString';
}
class Root extends Container {
  static override typeName = 'Root';
  kept: Serializable[] = [];
}

const BACKENDS: Record<string, (dir: string) => StorageBackend> = {
  memory: () => new InMemoryBackend(),
  file: (dir) => new FileBackend({ path: join(dir, 'files'), durable: false }),
  sqlite: (dir) => new SqliteBackend({ path: join(dir, 'store.db') }),
};

const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort();

const test = suite<{ dir: ReturnType<typeof tempDir> }>('type names that Object.prototype has', {} as never);
test.before.each((context) => {
  context.dir = tempDir('cuttle-type-names-');
});
test.after.each(({ dir }) => dir.remove());

for (const [name, makeBackend] of Object.entries(BACKENDS)) {
  test(`${name}: listAll lists type "__proto__" as an own key, gc reports and deletes it (bug: listAll's prototype became the id list, gc missed them)`, async ({ dir }) => {
    const before = prototypeKeys();
    const store = new Store({ backend: makeBackend(dir.path) });
    const root = new Root('root');
    root.kept = [new Proto('kept')];
    await store.save(root);
    await store.saveMany([new Proto('a'), new Proto('b'), new Ctor('c'), new ToString('t')]);

    const all = await store.listAll();
    assert.ok(Object.getPrototypeOf(all) === Object.prototype, 'an ordinary object');
    assert.ok(Object.hasOwn(all, '__proto__'));
    assert.equal(Object.keys(all).sort(), ['Root', '__proto__', 'constructor', 'toString']);
    assert.equal(all.__proto__, ['a', 'b', 'kept']);
    assert.equal(all.constructor, ['c']);
    assert.equal(all.toString, ['t']);

    // As entries: dequal (assert.equal) reads .constructor, which here is a type's id list.
    const expected = [
      ['__proto__', ['a', 'b']],
      ['constructor', ['c']],
      ['toString', ['t']],
    ];
    const planned = await store.gc([root], { dryRun: true });
    assert.ok(Object.getPrototypeOf(planned) === Object.prototype);
    assert.equal(Object.entries(planned), expected);
    assert.equal(Object.entries(await store.gc([root])), expected);
    assert.equal(await store.list(Proto), ['kept']);
    assert.equal(await store.count(Ctor), 0);
    assert.equal(await store.gc([root]), {});
    assert.equal(prototypeKeys(), before, 'Object.prototype unchanged');
    assert.is(({} as Record<string, unknown>).a, undefined);
    await store.close();
  });
}

test('cuttle stats counts types named __proto__ and constructor apart (bug: constructor read Object, __proto__ replaced the prototype)', async ({ dir }) => {
  const path = join(dir.path, 'stats.db');
  const store = new Store({ backend: new SqliteBackend({ path }) });
  await store.saveMany([new Proto('a'), new Proto('b'), new Ctor('c')]);
  await store.close();
  const cli = new URL('../dist/cli.js', import.meta.url).pathname;
  const result = spawnSync(process.execPath, [cli, 'stats', path, '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.is(result.status, 0, result.stderr);
  const stats = JSON.parse(result.stdout);
  assert.equal(Object.keys(stats.types).sort(), ['__proto__', 'constructor']);
  assert.is(Object.getOwnPropertyDescriptor(stats.types, '__proto__')!.value.objects, 2);
  assert.is(stats.types.constructor.objects, 1);
  assert.is(stats.total.objects, 3);
  const table = spawnSync(process.execPath, [cli, 'stats', path], { encoding: 'utf8', timeout: 60_000 });
  assert.match(table.stdout, /^__proto__\s+2\s/m);
  assert.match(table.stdout, /^constructor\s+1\s/m);
});

test.run();
