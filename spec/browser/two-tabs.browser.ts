// One tab of the two-tab test (scripts/test-browser.mjs opens two pages of one origin on this):
// cuttle's browser build, configured by name as an application would, with its cache on. The
// runner drives it through `globalThis.tab`.
import { ConflictError, Serializable, Storage, type StoreChange } from '../../src/browser.js';

class Note extends Serializable {
  static override typeName = 'TabNote';
  text = '';
}

const name = new URL(location.href).searchParams.get('db') ?? 'cuttle-two-tabs';
Storage.configure('indexeddb', { name });
Storage.register(Note);
const changes: string[] = [];
Storage.watch((change: StoreChange) => {
  if (!change.local) changes.push(change.reset ? 'reset' : `${change.deleted ? 'delete' : 'save'} ${change.id} v${change.version}`);
});

(globalThis as unknown as { tab: unknown }).tab = {
  save: async (id: string, text: string) => Storage.versionOf(await Storage.save(Object.assign(new Note(id), { text }))),
  delete: async (id: string) => Storage.delete(Note, id),
  /** The text of the copy this tab's cache holds, or null when there is none. */
  cached: (id: string) => Storage.cache.peek(Note, id)?.text ?? null,
  load: async (id: string) => (await Storage.get(Note, id))?.text ?? null,
  outsideDrops: () => Storage.cache.stats().outsideDrops,
  outsideResets: () => Storage.cache.stats().outsideResets,
  /** A save that expects `version`: `'saved'`, or `'conflict'` with the version found. */
  saveExpecting: async (id: string, text: string, version: number) => {
    try {
      await Storage.save(Object.assign(new Note(id), { text }), { expectedVersion: version });
      return 'saved';
    } catch (error) {
      if (error instanceof ConflictError) return `conflict at ${error.actualVersion}`;
      throw error;
    }
  },
  /** The store's dump as text, through exportBlob. */
  exportText: async () => (await Storage.exportBlob({ timestamp: false })).text(),
  /** Imports `text` as a File (as an <input type="file"> gives one), replacing everything. */
  importFile: async (text: string) => (await Storage.importBlob(new File([text], 'backup.ndjson'), { mode: 'replace' })).count,
  changes: () => changes,
};
