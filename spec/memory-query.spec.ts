// The memory backend's own query answers (the conformance suite checks that they equal the
// evaluator's, records of another type version included; these check what it judges itself and
// what it leaves to the store).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InMemoryBackend, isHeld, Serializable, Store, toQuery, type BackendFindOptions, type FindAnswer, type Query, type StoredRecord } from '../src/index.js';

class Note extends Serializable {
  static override typeName = 'MemNote';
  static indexes = ['rank'];
  rank: unknown = 0;
  title = '';
}

const noRefs = () => undefined;
const ids = (records: readonly { id: string }[]) => records.map((record) => record.id).sort();

test('memory answers find itself: plain records judged and ordered, records annotated at the path left unchecked', async () => {
  const backend = new InMemoryBackend();
  assert.is(backend.capabilities.query, true);
  const store = new Store({ backend });
  await store.saveMany([
    Object.assign(new Note('a'), { rank: 2 }),
    Object.assign(new Note('b'), { rank: 1 }),
    Object.assign(new Note('c'), { rank: new Date(0) }),
    Object.assign(new Note('d'), { rank: 2n }),
    Object.assign(new Note('e'), { rank: 3, title: 'x' }),
    Object.assign(new Note('f'), { rank: 2, when: new Date(0) }),
  ]);
  await store.index(Note, 'rank');
  const query = toQuery({ where: { rank: { $gte: 2 } }, sort: { rank: -1 } }, noRefs);
  const answer = await backend.find('MemNote', query, { typeVersion: 1 });
  // f is annotated elsewhere (when), not at rank: judged here all the same.
  assert.equal(answer.records.map((record) => record.id), ['e', 'a', 'f']);
  assert.equal(ids(answer.unchecked), ['c', 'd']);
  assert.is(answer.skipped, 0);
  const counted = await backend.find('MemNote', query, { count: true, typeVersion: 1 });
  assert.equal([counted.count, counted.records.length, ids(counted.unchecked)], [3, 0, ['c', 'd']]);
  // Nothing left to the store: the backend skips and limits itself.
  const page = await backend.find('MemNote', toQuery({ where: { title: '' }, skip: 1, limit: 2 }, noRefs), { typeVersion: 1 });
  assert.equal([page.records.map((record) => record.id), page.unchecked.length, page.skipped], [['b', 'c'], 0, 1]);
  // Without the type version it cannot tell which records the store would upgrade.
  const blind = await backend.find('MemNote', query, {});
  assert.equal([blind.records.length, blind.unchecked.length], [0, 6]);
  await store.close();
});

test('the pages after the first are slices of one answer, which a change makes again', async () => {
  const backend = new InMemoryBackend();
  const store = new Store({ backend });
  await store.saveMany(['b', 'c', 'd', 'e'].map((id, i) => Object.assign(new Note(id), { rank: i })));
  // findEach asks for its pages with the same filter and sort objects: so does this.
  const query = toQuery({ where: { rank: { $gte: 0 } }, skip: 1, limit: 2 }, noRefs);
  const page = async () => (await backend.find('MemNote', query, { typeVersion: 1 })).records.map((record) => record.id);
  assert.equal(await page(), ['c', 'd']);
  assert.equal(await page(), ['c', 'd']);
  await store.save(Object.assign(new Note('a'), { rank: 9 }));
  assert.equal(await page(), ['b', 'c']);
  await store.delete(Note, 'b');
  assert.equal(await page(), ['c', 'd']);
  const each: string[] = [];
  for await (const note of store.findEach(Note, { where: { rank: { $gte: 0 } }, sort: { rank: -1 } })) each.push(note.id);
  assert.equal(each, ['a', 'e', 'd', 'c']);
  await store.close();
});

/** A backend that breaks the held-records contract: asked with `held`, it sends the records held and one unchecked too. */
class HeldWithUnchecked extends InMemoryBackend {
  asked: string[] = [];
  override async find(type: string, query: Query, options?: BackendFindOptions): Promise<FindAnswer> {
    const answer = await super.find(type, query, options);
    this.asked.push(options?.held === undefined ? 'whole' : 'held');
    if (options?.held === undefined || answer.records.length === 0) return answer;
    const whole = answer.records.filter((record): record is StoredRecord => !isHeld(record));
    const held = whole.slice(1).map((record) => ({ type, id: record.id, version: record.version, held: true as const }));
    return { ...answer, records: held, unchecked: whole.slice(0, 1) };
  }
}

test('held records sent with unchecked ones (the contract says never) make the store ask again for every record whole', async () => {
  const backend = new HeldWithUnchecked();
  const store = new Store({ backend });
  await store.saveMany([1, 2, 3].map((rank) => Object.assign(new Note(`n${rank}`), { rank })));
  backend.asked = [];
  assert.equal((await store.find(Note, { where: { rank: { $gte: 2 } }, sort: { rank: -1 } })).map((note) => note.id), ['n3', 'n2']);
  assert.equal(backend.asked, ['held', 'whole']);
  await store.close();
});

test.run();
