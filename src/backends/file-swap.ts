/**
 * Replace-mode imports of the file backend, all or nothing even when the process is killed.
 *
 * The new records are written into a staging folder in the root, `.cuttle-import-<host>-<pid>-<unique>`
 * (a name no type folder can have, so nothing lists it), laid out like the root: one folder per
 * type. Once every record is there, a marker `commit.json` in it names the staged type folders;
 * from then on the import counts as done. The swap follows, under the root's lock
 * `.cuttle-swap.lock`: every type folder of the root that holds objects moves aside into
 * `<staging>/.old`, each staged folder takes its type's place, whatever cuttle did not write in
 * the folders moved aside (a README, a .gitkeep) is moved back, the marker is deleted, and the
 * staging folder with the old data is removed. Names in the root other than type folders are
 * never touched.
 *
 * Each step of the swap can be taken again, so a kill at any point of it is finished from the
 * marker by the next writable backend that opens the root (or by this backend's next call); a
 * kill before the marker leaves the old data, and the next open deletes a staging folder whose
 * writer is gone. See "Replace imports" in docs/backends/file.md for what others see meanwhile.
 * @module
 */
import { existsSync, mkdirSync, opendirSync, readdirSync, readFileSync, renameSync, unlinkSync, type Dirent } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTempName, nameOwner, ownedName, syncDir, writeAtomic, writerGone } from './file-atomic.js';
import { uniqueHex, type FileLocks } from './file-lock.js';
import { LONG_IDS_FILE } from './file-long-ids.js';
import { decodeType, isObjectName } from './file-names.js';

const PREFIX = 'cuttle-import-';
/** Written into the staging folder once it holds every record: `{ "types": [folder names] }`. */
const MARKER = 'commit.json';
/** Where, in the staging folder, the root's old type folders go. */
const ASIDE = '.old';
const LOCK = '.cuttle-swap.lock';

/** A new staging folder's path in `root` (not made yet). */
export function stagingFolder(root: string): string {
  return join(root, ownedName(PREFIX, ''));
}

/**
 * The staging folders in `root`: `committed` ones, whose swap a kill interrupted (to finish),
 * and `abandoned` ones, whose writer on this host is gone before its commit (to delete). Others
 * belong to imports under way.
 */
export function stagingFolders(root: string): { committed: string[]; abandoned: string[] } {
  const committed: string[] = [];
  const abandoned: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || nameOwner(entry.name, PREFIX, '') === undefined) continue;
    const folder = join(root, entry.name);
    if (existsSync(join(folder, MARKER))) committed.push(folder);
    else if (writerGone(entry.name, PREFIX, '')) abandoned.push(folder);
  }
  return { committed, abandoned };
}

/** Marks the staging folder complete: from here on its records replace the root's. */
export async function commitStaging(staging: string, durable: boolean): Promise<void> {
  const types = readdirSync(staging, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && decodeType(entry.name) !== undefined)
    .map((entry) => entry.name);
  await writeAtomic(staging, MARKER, JSON.stringify({ types }), durable);
}

/**
 * Swaps the committed staging folder's type folders into `root` under the root's lock, then
 * removes the staging folder. Does nothing when another backend finished it first.
 */
export async function finishSwap(root: string, staging: string, locks: FileLocks, durable: boolean): Promise<void> {
  const swapped = await locks.with(join(root, LOCK), async () => {
    const types = readPlan(staging);
    if (types === undefined) return false;
    swap(root, staging, types);
    if (durable) await syncDir(root);
    unlinkSync(join(staging, MARKER));
    return true;
  });
  // Only the old data is left in it; a failure here leaves a folder the next open removes.
  if (swapped) await removeStaging(staging).catch(() => {});
}

/** Deletes a staging folder and everything in it. */
export function removeStaging(staging: string): Promise<void> {
  return rm(staging, { recursive: true, force: true, maxRetries: 3 });
}

/** The type folders the marker names; `undefined` when there is no marker (the swap is done). */
function readPlan(staging: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(join(staging, MARKER), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const { types } = JSON.parse(text) as { types: unknown };
  if (!Array.isArray(types) || !types.every((name) => typeof name === 'string' && decodeType(name) !== undefined)) {
    throw new Error(`${join(staging, MARKER)} does not name type folders: ${text}`);
  }
  return types;
}

/** The swap itself, in steps that can each be taken again after a kill. */
function swap(root: string, staging: string, types: readonly string[]): void {
  const aside = join(staging, ASIDE);
  mkdirSync(aside, { recursive: true });
  const staged = new Set(types);
  // Types the new data does not have: away, unless nothing of cuttle's is in the folder.
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (entry.isDirectory() && !staged.has(entry.name) && decodeType(entry.name) !== undefined && holdsObjects(join(root, entry.name))) {
      moveAside(root, entry.name, aside);
    }
  }
  for (const name of types) {
    const from = join(staging, name);
    if (!existsSync(from)) continue; // moved in before the kill
    for (;;) {
      moveAside(root, name, aside);
      try {
        renameSync(from, join(root, name));
        break;
      } catch (error) {
        // A save in another process made the folder again in between: that one goes aside too.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      }
    }
  }
  for (const name of readdirSync(aside)) moveBackForeign(join(aside, name), join(root, name.slice(0, name.lastIndexOf('~'))));
}

/** Moves `root/name` into `aside` under a name of its own (`<name>~<unique>`), if it is there. */
function moveAside(root: string, name: string, aside: string): void {
  try {
    renameSync(join(root, name), join(aside, `${name}~${uniqueHex()}`));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Moves whatever cuttle did not write from the old type folder `from` into `to`, made if missing. */
function moveBackForeign(from: string, to: string): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (isOwnEntry(entry)) continue;
    mkdirSync(to, { recursive: true });
    try {
      renameSync(join(from, entry.name), join(to, entry.name));
    } catch (error) {
      // The new folder has that name already: it keeps its own.
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
    }
  }
}

/** Whether the type folder entry is one the file backend writes: an object, its long-id index, a lock, a temp file. */
function isOwnEntry(entry: Dirent): boolean {
  if (entry.isDirectory()) return false;
  const name = entry.name;
  return isObjectName(name) || name === LONG_IDS_FILE || isTempName(name) || (name.startsWith('.') && (name.endsWith('.lock') || name.endsWith('.lock.break')));
}

/** Whether `folder` holds at least one object file; stops at the first. */
function holdsObjects(folder: string): boolean {
  const dir = opendirSync(folder);
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      if (!entry.isDirectory() && isObjectName(entry.name)) return true;
    }
    return false;
  } finally {
    dir.closeSync();
  }
}
