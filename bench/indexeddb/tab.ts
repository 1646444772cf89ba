// One tab of the IndexedDB coherence bench (bench/indexeddb.bench.ts opens two of them on one
// database): the writer saves objects one at a time and notes when each save was called and when
// it returned; the reader keeps a Store on the same database and notes when its watch hears of
// each save, which is when its cache has dropped the old copy. Times are on one clock for both
// pages: performance.timeOrigin + performance.now(), in ms.
import { Serializable, Store } from '../../src/core.js';
import { IndexedDbBackend } from '../../src/indexeddb.js';

class Note extends Serializable {
  static override typeName = 'CoherenceNote';
  text = '';
}

const now = () => performance.timeOrigin + performance.now();
const name = new URL(location.href).searchParams.get('db')!;
const store = new Store({ backend: new IndexedDbBackend({ name }) });
const heard = new Map<string, number>();
store.watch((change) => {
  if (!change.local && change.reset !== true) heard.set(`${change.id} v${change.version}`, now());
});

(globalThis as unknown as { tab: unknown }).tab = {
  /** Loads `count` notes into the reader's cache. */
  async warm(count: number) {
    for (let i = 0; i < count; i++) await store.load(Note, `n${i}`);
  },
  /** Saves `count` notes, `pause` ms apart; @returns when each was called and returned. */
  async write(count: number, pause: number) {
    const saves: Array<{ key: string; called: number; returned: number }> = [];
    for (let i = 0; i < count; i++) {
      const called = now();
      const saved = await store.save(Object.assign(new Note(`n${i % 50}`), { text: `save ${i}` }));
      saves.push({ key: `${saved.id} v${store.versionOf(saved)}`, called, returned: now() });
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    return saves;
  },
  heard: () => Object.fromEntries(heard),
};
