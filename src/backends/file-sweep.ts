/**
 * Clean-up in the file backend's folders: what killed writers leave behind (temp files, locks,
 * lock-break guards), and for `clear()` the object files and the long-id index too. Only names the
 * backend itself writes are touched; anything else in the root stays.
 * @module
 */
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isStaleTemp, isTempName } from './file-atomic.js';
import { removeIfStale, STALE_AFTER_MS } from './file-lock.js';
import { LONG_IDS_FILE } from './file-long-ids.js';
import { decodeType, isObjectName } from './file-names.js';

/** How many files to look at or delete at once. */
const PARALLEL = 16;

/**
 * Deletes, in `folder`, the temp files and locks of writers that are gone and lock-break guards
 * older than {@link STALE_AFTER_MS}; with `objects`, also every object file and the long-id index.
 * Locks and temp files of live writers stay.
 */
export async function sweepFolder(folder: string, objects: boolean): Promise<void> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(ifMissing([]));
  const names = entries.filter((entry) => !entry.isDirectory()).map((entry) => entry.name);
  const sweepOne = async (name: string): Promise<void> => {
    const file = join(folder, name);
    if (name.startsWith('.')) {
      if (name.endsWith('.lock')) return removeIfStale(file);
      const stale =
        (objects && name === LONG_IDS_FILE) ||
        (isTempName(name) && (await isStaleTemp(folder, name))) ||
        (name.endsWith('.lock.break') && (await olderThan(file, STALE_AFTER_MS)));
      if (!stale) return;
    } else if (!objects || !isObjectName(name)) {
      return;
    }
    await unlink(file).catch(ifMissing(undefined));
  };
  for (let i = 0; i < names.length; i += PARALLEL) await Promise.all(names.slice(i, i + PARALLEL).map(sweepOne));
}

/** Sweeps the root and every type folder of leftovers (what opening a root does, in the background). */
export async function removeLeftovers(root: string): Promise<void> {
  await sweepFolder(root, false);
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (entry.isDirectory() && decodeType(entry.name) !== undefined) await sweepFolder(join(root, entry.name), false);
  }
}

async function olderThan(file: string, ms: number): Promise<boolean> {
  const info = await lstat(file).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > ms;
}

function ifMissing<T>(value: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return value;
    throw error;
  };
}
