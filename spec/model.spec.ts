import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Container, DuplicateTypeError, InvalidIdError, Serializable, TypeRegistry, UnknownTypeError } from '../src/index.js';
import { throwsError } from './helpers.js';

const test = suite('type registry');

test('a class registers under its name, or its own static typeName', () => {
  class Note extends Serializable {}
  class Named extends Serializable {
    static override typeName = 'app.Named-v2';
  }
  const registry = new TypeRegistry();
  assert.is(registry.register(Note).name, 'Note');
  assert.is(registry.register(Named).name, 'app.Named-v2');
  assert.is(registry.resolve('Note').Class, Note);
  assert.equal(registry.names(), ['Note', 'app.Named-v2']);
});

test('registering twice is harmless; two classes claiming one name is an error', () => {
  const registry = new TypeRegistry();
  class Note extends Serializable {}
  registry.register(Note);
  registry.register(Note);
  const Other = class Note extends Serializable {};
  const error = throwsError(() => registry.register(Other), DuplicateTypeError, /"Note".*typeName/);
  assert.is(error.code, 'ERR_DUPLICATE_TYPE');
  assert.is(registry.resolve('Note').Class, Note, 'the first class keeps the name');
});

test('a subclass does not inherit its parent typeName', () => {
  class Base extends Serializable {
    static override typeName = 'base';
  }
  class Derived extends Base {}
  const registry = new TypeRegistry();
  assert.is(registry.register(Base).name, 'base');
  assert.is(registry.register(Derived).name, 'Derived');
});

test('kind: Container subclasses are containers', () => {
  class Doc extends Serializable {}
  class Folder extends Container {}
  const registry = new TypeRegistry();
  assert.is(registry.register(Doc).kind, 'object');
  assert.is(registry.register(Folder).kind, 'container');
});

test('invalid type names, anonymous and foreign classes are refused', () => {
  const registry = new TypeRegistry();
  for (const typeName of ['1abc', 'a b', 'a/b', 'a:b', '', 'x'.repeat(129)]) {
    const Bad = class Bad extends Serializable {
      static override typeName = typeName;
    };
    throwsError(() => registry.register(Bad), InvalidIdError);
  }
  throwsError(() => registry.register((() => class extends Serializable {})()), InvalidIdError, /anonymous/);
  throwsError(() => registry.register(class Plain {} as never), TypeError, /Serializable/);
});

test('toStorage without fromStorage (or the reverse) is refused', () => {
  class Half extends Serializable {
    override toStorage() {
      return 1;
    }
  }
  throwsError(() => new TypeRegistry().register(Half), TypeError, /fromStorage/);
});

test('resolving an unregistered name tells the user to register it', () => {
  const error = throwsError(() => new TypeRegistry().resolve('Ghost'), UnknownTypeError, /Storage\.register\(Ghost\)/);
  assert.is(error.code, 'ERR_UNKNOWN_TYPE');
});

test('new instances get a random UUID unless given an id', () => {
  class Note extends Serializable {}
  const a = new Note();
  assert.match(a.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is.not(new Note().id, a.id);
  assert.is(new Note('mine').id, 'mine');
});

test.run();
