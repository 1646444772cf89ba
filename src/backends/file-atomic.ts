/**
 * Atomic file replacement for the file backend: write a temp file in the target's folder, fsync
 * it, rename it over the target, fsync the folder. A reader opens either the old file or the new
 * one, never a part; after a crash the target is the old or the new version, and the temp file is
 * left behind under a name that says who wrote it, so the next open can delete it.
 *
 * Temp names: `.<host>-<pid>-<random>.tmp`. They start with a dot, which no object file does.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HOST, isAlive, STALE_AFTER_MS } from './file-lock.js';

/** A short tag of this host for temp names (host names may be long). */
const HOST_TAG = createHash('sha256').update(HOST).digest('hex').slice(0, 8);
const TEMP_NAME = /^\.([0-9a-f]{8})-(\d+)-[0-9a-f]+\.tmp$/;

/**
 * Replaces `dir/name` with `data` atomically. `durable`: fsync the file before the rename and
 * the folder after it, so the new content survives a power loss once this resolves.
 */
export async function writeAtomic(dir: string, name: string, data: string, durable: boolean): Promise<void> {
  const temp = join(dir, tempName());
  const handle = await open(temp, 'w'); // the name is unique: pid and 48 random bits
  try {
    try {
      await handle.writeFile(data, 'utf8');
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, name));
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  if (durable) await syncDir(dir);
}

/** A fresh temp file name for this process. */
export function tempName(): string {
  return `.${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
}

/** fsyncs a folder, so that names created, renamed or deleted in it survive a power loss. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) and filesystems cannot fsync a folder; nothing more to do there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    await handle.close();
  }
}

/** Whether `name` is a temp file written by {@link writeAtomic}. */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/**
 * Whether the temp file `dir/name` is a leftover: its writer on this host is gone, or it is older
 * than {@link STALE_AFTER_MS} (a write never takes that long).
 */
export async function isStaleTemp(dir: string, name: string): Promise<boolean> {
  const match = TEMP_NAME.exec(name);
  if (!match) return false;
  if (match[1] === HOST_TAG && Number(match[2]) !== process.pid && !isAlive(Number(match[2]))) return true;
  const info = await stat(join(dir, name)).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > STALE_AFTER_MS;
}
