// Dumps as Blobs (src/dump-blob.ts) in Node, whose Blob and File are the web's: the same bytes as
// a dump file, imports streamed from a Blob, validated before anything is stored. The IndexedDB
// suite (spec/indexeddb-suite.ts) runs the browser's side of this in Chromium.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DumpFormatError, InMemoryBackend, Serializable, Store, type BackendCapabilities, type StoredRecord } from '../src/index.js';
import { rejects, tempDir } from './helpers.js';

class Note extends Serializable {
  static override typeName = 'BlobNote';
  text = '';
}

/** A memory backend whose imports are not atomic, like the file backend's. */
class PlainImportBackend extends InMemoryBackend {
  override get capabilities(): BackendCapabilities {
    return { ...super.capabilities, atomicBatch: false, atomicImport: false };
  }
  override importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    return Object.getPrototypeOf(InMemoryBackend.prototype).importRecords.call(this, records, options);
  }
}

async function filled(): Promise<Store> {
  const store = new Store();
  for (const [id, text] of [['a', 'plain'], ['b', 'line\nbreak \u2028 😀 "quoted"'], ['c', 'x'.repeat(200_000)]]) {
    await store.save(Object.assign(new Note(id!), { text }));
  }
  return store;
}

const test = suite('dumps as Blobs');

test('exportBlob holds exactly the bytes exportTo writes to a file', async () => {
  const store = await filled();
  const dir = tempDir('cuttle-blob-');
  try {
    const file = join(dir.path, 'dump.ndjson');
    await store.exportTo(file, { timestamp: false });
    const blob = await store.exportBlob({ timestamp: false });
    assert.is(blob.type, 'application/x-ndjson');
    assert.equal(new Uint8Array(await blob.arrayBuffer()), new Uint8Array(readFileSync(file)));
  } finally {
    dir.remove();
  }
});

test('importBlob of a File restores every object, on an atomic and on a non-atomic backend', async () => {
  const source = await filled();
  const file = new File([await source.exportBlob()], 'dump.ndjson');
  for (const backend of [new InMemoryBackend(), new PlainImportBackend()]) {
    const store = new Store({ backend });
    await store.save(Object.assign(new Note('old'), { text: 'replaced' }));
    assert.equal(await store.importBlob(file, { mode: 'replace' }), { count: 3 });
    assert.equal(await store.list(Note), ['a', 'b', 'c']);
    assert.is((await store.load(Note, 'b')).text, 'line\nbreak \u2028 😀 "quoted"');
    assert.is((await store.load(Note, 'c')).text.length, 200_000);
  }
});

test('a damaged Blob is refused with DumpFormatError naming the line, and stores nothing, on either kind of backend', async () => {
  const text = await (await (await filled()).exportBlob()).text();
  const lines = text.split('\n');
  const cases: Array<[string, string, RegExp]> = [
    ['truncated', lines.slice(0, 3).join('\n') + '\n', /no trailer line after 2 records: the dump is truncated/],
    ['a bad middle line', [lines[0], lines[1], '{"type":"BlobNote"', ...lines.slice(3)].join('\n'), /line 3/],
    ['CRLF line ends, one record changed', text.replace(/\n/g, '\r\n').replace('plain', 'PLAIN'), /checksum/],
  ];
  for (const [name, dump, message] of cases) {
    for (const backend of [new InMemoryBackend(), new PlainImportBackend()]) {
      const store = new Store({ backend });
      await store.save(Object.assign(new Note('kept'), { text: 'kept' }));
      const error = await rejects(store.importBlob(new Blob([dump]), { mode: 'replace' }), DumpFormatError, message);
      assert.ok(error.message.length > 0, name);
      assert.equal(await store.list(Note), ['kept'], `${name}: nothing changed`);
    }
  }
});

test('importBlob: CRLF line ends are read; a line over maxLineBytes is refused; a non-Blob is a TypeError', async () => {
  const text = await (await (await filled()).exportBlob()).text();
  const store = new Store();
  assert.equal(await store.importBlob(new Blob([text.replace(/\n/g, '\r\n')])), { count: 3 });
  await rejects(new Store().importBlob(new Blob([text]), { maxLineBytes: 100_000 }), DumpFormatError, /line 4: line longer than 100000 bytes/);
  await rejects(new Store().importBlob('text' as never), TypeError, /importBlob expects a Blob or a File, got "text"/);
});

test.run();
