/**
 * Atomic file replacement for the file backend: write a temp file (in the target's folder, or in
 * a small folder on the same filesystem: the backend uses its root), fsync it, rename it over the
 * target (or, to create a file that must not exist yet, hard-link it to the target's name), fsync
 * the folder. A reader opens either the old file or the new one, never a
 * part; after a crash the target is the old or the new version, and the temp file is left behind
 * under a name that says who wrote it, so the next open can delete it.
 *
 * Temp names: `.<host>-<pid>-<unique hex>.tmp`. They start with a dot, which no object file does.
 * @module
 */
import { createHash } from 'node:crypto';
import { closeSync, fsync, linkSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HOST, isAlive, removeQuietly, STALE_AFTER_MS, uniqueHex } from './file-lock.js';

/** A short tag of this host for temp names (host names may be long). */
const HOST_TAG = createHash('sha256').update(HOST).digest('hex').slice(0, 8);
/** What {@link ownedName} puts between its prefix and suffix: host tag, pid, unique hex. */
const OWNER = /^([0-9a-f]{8})-(\d+)-[0-9a-f]+$/;
const TEMP_SUFFIX = '.tmp';

const fsyncAsync = promisify(fsync);

/**
 * Content up to this many UTF-16 units is written with synchronous calls: a few microseconds of
 * page-cache copying, where each asynchronous call costs a thread-pool round trip (~0.1 ms here).
 * Longer content is written asynchronously, so a multi-MB document does not stall the event loop.
 */
const SYNC_WRITE_LIMIT = 64 * 1024;

/**
 * Replaces `dir/name` with `data` atomically. `durable`: fsync the file before the rename and
 * the folder after it, so the new content survives a power loss once this resolves. Opening,
 * writing a small file, closing and renaming are synchronous (metadata and a page-cache copy);
 * the fsyncs, which wait for the disk, are not.
 *
 * The temp file is written in `tempDir` (default: `dir`), which should be on the same filesystem:
 * a small folder there keeps the temp file's creation and removal out of a large `dir`, where each
 * change to the folder costs more. Where the rename crosses filesystems after all (`EXDEV`), the
 * write is made again with the temp file in `dir`.
 */
export async function writeAtomic(dir: string, name: string, data: string, durable: boolean, tempDir = dir): Promise<void> {
  const temp = await writeTemp(tempDir, data, durable);
  try {
    renameSync(temp, join(dir, name));
  } catch (error) {
    removeQuietly(temp);
    if (isCrossDevice(error, dir, tempDir)) return writeAtomic(dir, name, data, durable);
    throw error;
  }
  if (durable) await syncDir(dir);
}

/**
 * Creates `dir/name` holding `data`, atomically, unless a file of that name exists: the temp file
 * (in `tempDir`, as for {@link writeAtomic}) is hard-linked to the name, and `link`, unlike
 * `rename`, never replaces a file. So of several processes creating one name at once exactly one
 * succeeds, without a lock. The temp name is removed either way.
 * @returns false when `dir/name` exists (nothing is changed then).
 * @throws the `link` error when this filesystem has no hard links (see {@link isNoLinkError}).
 */
export async function createAtomic(dir: string, name: string, data: string, durable: boolean, tempDir = dir): Promise<boolean> {
  const temp = await writeTemp(tempDir, data, durable);
  try {
    linkSync(temp, join(dir, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    if (isCrossDevice(error, dir, tempDir)) return createAtomic(dir, name, data, durable);
    throw error;
  } finally {
    removeQuietly(temp);
  }
  if (durable) await syncDir(dir);
  return true;
}

/** Whether a rename or link from `tempDir` into `dir` failed because they are on different filesystems. */
function isCrossDevice(error: unknown, dir: string, tempDir: string): boolean {
  return (error as NodeJS.ErrnoException).code === 'EXDEV' && tempDir !== dir;
}

/** Whether `error`, thrown by `link`, says that this filesystem cannot make hard links (FAT, some network shares). */
export function isNoLinkError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS';
}

/** Writes `data` to a new temp file in `dir` (fsynced when `durable`); removed again if that fails. @returns its path. */
async function writeTemp(dir: string, data: string, durable: boolean): Promise<string> {
  const temp = join(dir, tempName());
  try {
    if (data.length <= SYNC_WRITE_LIMIT) {
      const fd = openSync(temp, 'w'); // the name is unique (see uniqueHex)
      try {
        writeFileSync(fd, data, 'utf8');
        if (durable) await fsyncAsync(fd);
      } finally {
        closeSync(fd);
      }
    } else {
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(data, 'utf8');
        if (durable) await handle.sync();
      } finally {
        await handle.close();
      }
    }
  } catch (error) {
    removeQuietly(temp);
    throw error;
  }
  return temp;
}

/** A fresh temp file name for this process. */
export function tempName(): string {
  return ownedName('', TEMP_SUFFIX);
}

/**
 * A fresh name for something this process writes and may leave behind if it is killed (a temp
 * file, a staging folder): `.<prefix><host tag>-<pid>-<unique hex><suffix>`, which tells a later
 * process whether its writer is gone (see {@link writerGone}).
 */
export function ownedName(prefix: string, suffix: string): string {
  return `.${prefix}${HOST_TAG}-${process.pid}-${uniqueHex()}${suffix}`;
}

/** Who wrote `name`, if {@link ownedName} made it with this prefix and suffix: the pid, and whether on this host. */
export function nameOwner(name: string, prefix: string, suffix: string): { pid: number; here: boolean } | undefined {
  if (name.length <= 1 + prefix.length + suffix.length || !name.startsWith(`.${prefix}`) || !name.endsWith(suffix)) return undefined;
  const match = OWNER.exec(name.slice(1 + prefix.length, name.length - suffix.length));
  return match ? { pid: Number(match[2]), here: match[1] === HOST_TAG } : undefined;
}

/** Whether `name` was made by {@link ownedName} (with this prefix and suffix) in another process on this host that is no longer running. */
export function writerGone(name: string, prefix: string, suffix: string): boolean {
  const owner = nameOwner(name, prefix, suffix);
  return owner !== undefined && owner.here && owner.pid !== process.pid && !isAlive(owner.pid);
}

/**
 * fsyncs a folder, so that names created, renamed or deleted in it survive a power loss. The
 * open and close are synchronous; the fsync, which waits for the disk, is not.
 */
export async function syncDir(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await fsyncAsync(fd);
  } catch (error) {
    // Some platforms (Windows) and filesystems cannot fsync a folder; nothing more to do there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    closeSync(fd);
  }
}

/** Whether `name` is a temp file written by {@link writeAtomic}. */
export function isTempName(name: string): boolean {
  return nameOwner(name, '', TEMP_SUFFIX) !== undefined;
}

/**
 * Whether the temp file `dir/name` is a leftover: its writer on this host is gone, or it is older
 * than {@link STALE_AFTER_MS} (a write never takes that long).
 */
export async function isStaleTemp(dir: string, name: string): Promise<boolean> {
  if (!isTempName(name)) return false;
  if (writerGone(name, '', TEMP_SUFFIX)) return true;
  const info = await stat(join(dir, name)).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > STALE_AFTER_MS;
}
