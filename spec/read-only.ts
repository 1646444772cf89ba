// What the read-only specs of the file and SQLite backends share: the changes a read-only backend
// refuses, and the check of a store opened by a process that may not write it.
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import type { StorageBackend } from '../src/backends/backend.js';
import { ReadOnlyError } from '../src/errors.js';
import { rejects, runAsNobody } from './helpers.js';

const reader = fileURLToPath(new URL('./fixtures/readonly-reader.ts', import.meta.url));

/** Asserts that every change (each write method, delete, clear, an import) throws ReadOnlyError with `message`; `id` is stored under `type`. */
export async function assertRefusesChanges(backend: StorageBackend, type: string, id: string, message: string): Promise<void> {
  const record = { type, id, kind: 'object' as const, content: '{"json":{}}' };
  const changes: Array<[string, () => Promise<unknown>]> = [
    ['write', () => backend.write({ ...record, id: 'new' })],
    ['writeMany', () => backend.writeMany([{ ...record, id: 'new' }])],
    ['put', () => backend.put({ ...record, version: 9, updatedAt: 0 })],
    ['putMany', () => backend.putMany([{ ...record, version: 9, updatedAt: 0 }])],
    ['delete', () => backend.delete(type, id)],
    ['clear', () => backend.clear()],
    ['importRecords', () => backend.importRecords((async function* () {})(), { replace: true })],
  ];
  for (const [name, change] of changes) {
    const error = await rejects(change, ReadOnlyError);
    assert.is(error.message, message, name);
    assert.is(error.store, backend.name, name);
    assert.is(error.code, 'ERR_READ_ONLY');
  }
}

/**
 * Opens the store (`kind` at `path`, holding Note a with content `{"json":"a"}` and Note b) in a
 * child process run as user nobody, without the readonly option, and asserts that it opened
 * read-only, read and exported both objects, and refused a save with `saveMessage`. Root only.
 */
export function assertOpensReadOnlyAsNobody(kind: 'file' | 'sqlite', path: string, tempFolder: string, saveMessage: string): void {
  assert.equal(JSON.parse(runAsNobody(reader, [kind, path], tempFolder)), {
    readonly: true,
    types: ['Note'],
    ids: ['a', 'b'],
    content: '{"json":"a"}',
    exported: 2,
    save: { name: 'ReadOnlyError', code: 'ERR_READ_ONLY', message: saveMessage },
  });
}
