/**
 * Per-object locks of the file backend, shared by every process using one root (on one machine,
 * or several machines or containers that share a local filesystem).
 *
 * A lock is a symbolic link whose target is its owner, `{"pid":…,"host":…,"nonce":…}` (as Emacs
 * and Mercurial do): creating it fails with EEXIST if it exists, so exactly one process can, and it
 * appears with its owner already in it, so nobody ever reads a half-made lock. Where symbolic links
 * are not allowed (Windows without developer mode, FAT), it is a file created with `O_EXCL`
 * instead. Releasing deletes it. A lock is stale, and is
 * broken, when its owner cannot be running any more:
 * - same host and the pid is not alive (a crash, SIGKILL);
 * - same host, our own pid, and not a lock this process holds (a restarted container reuses pids);
 * - otherwise (another host, an unreadable lock, a reused pid) once it is older than
 *   {@link STALE_AFTER_MS}; no write holds a lock that long unless its process is frozen.
 * Breaking is itself guarded by a second exclusive file, `<lock>.break`, and deletes the lock only
 * if it still holds the stale owner, so two processes breaking one stale lock at once cannot
 * delete the fresh lock a third took in between.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { lstat, readFile, readlink, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockTimeoutError } from '../errors.js';

/** After this long, a lock or temp file whose owner cannot be checked is taken as abandoned. */
export const STALE_AFTER_MS = 60_000;

/** This machine's name, as written in locks and temp file names. */
export const HOST = hostname();

/** Random per process, so that names made by a later process that reuses our pid differ from ours. */
const PROCESS_TAG = randomBytes(6).toString('hex');
let made = 0;

/**
 * A string of hex digits that no other call, in this process or any other, returns: this
 * process's random tag and a counter. Used for lock nonces and temp file names, where a fresh
 * `randomBytes` costs ~5 µs here, and a save needs two.
 */
export function uniqueHex(): string {
  return PROCESS_TAG + (++made).toString(16);
}

/** Nonces of the locks this process holds now (across every backend object). */
const held = new Set<string>();
/** Per lock path, the tail of the queue of callers in this process (across every backend object). */
const queues = new Map<string, Promise<unknown>>();

interface Owner {
  pid: number;
  host: string;
  nonce: string;
}

/** Whether process `pid` on this host is running (EPERM: running, as another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes and releases per-object locks, waiting at most `timeout` ms for another process. */
export class FileLocks {
  readonly #timeout: number;

  constructor(timeout: number) {
    this.#timeout = timeout;
  }

  /**
   * Runs `fn` holding the lock `path`, one caller at a time per path: queued in this process, then
   * locked across processes. Waits up to the timeout for another process, then throws
   * `LockTimeoutError`. Errors creating the lock (ENOENT when its folder is missing) are thrown.
   */
  async with<T>(path: string, fn: () => Promise<T>): Promise<T> {
    const previous = queues.get(path);
    const run = (previous ?? Promise.resolve()).then(async () => {
      const nonce = await this.#acquire(path);
      try {
        return await fn();
      } finally {
        held.delete(nonce);
        removeQuietly(path);
      }
    });
    const tail = run.catch(() => {});
    queues.set(path, tail);
    try {
      return await run;
    } finally {
      if (queues.get(path) === tail) queues.delete(path);
    }
  }

  async #acquire(path: string): Promise<string> {
    const nonce = uniqueHex();
    const owner = JSON.stringify({ pid: process.pid, host: HOST, nonce } satisfies Owner);
    const deadline = Date.now() + this.#timeout;
    for (let attempt = 0; ; attempt++) {
      // Marked held before it exists, so that nobody in this process ever takes it for stale.
      held.add(nonce);
      try {
        createLock(path, owner);
        return nonce;
      } catch (error) {
        held.delete(nonce);
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const current = await readLock(path);
      if (current === undefined) continue; // released in between
      if ((await isStale(path, current)) && (await breakLock(path, current))) continue;
      if (Date.now() >= deadline) throw new LockTimeoutError(path, this.#timeout, current);
      await sleep(Math.min(2 ** attempt, 25) * (0.5 + Math.random()));
    }
  }
}

/** Deletes the lock file `path` if its owner is gone (used when opening a root). */
export async function removeIfStale(path: string): Promise<void> {
  const current = await readLock(path);
  if (current !== undefined && (await isStale(path, current))) await breakLock(path, current);
}

async function isStale(path: string, content: string): Promise<boolean> {
  const owner = parseOwner(content);
  if (owner?.host === HOST) {
    if (owner.pid === process.pid) return !held.has(owner.nonce);
    if (!isAlive(owner.pid)) return true;
  }
  // Another host, an unreadable lock, or a running pid that may have been reused since.
  const info = await lstat(path).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > STALE_AFTER_MS;
}

/** Deletes lock `path` if it still holds `staleContent`. @returns false when someone else is breaking it. */
async function breakLock(path: string, staleContent: string): Promise<boolean> {
  const guard = `${path}.break`;
  try {
    createLock(guard, String(process.pid));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Someone is breaking it right now (microseconds), or died doing so long ago.
    const info = await lstat(guard).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > STALE_AFTER_MS) await unlink(guard).catch(() => {});
    return false;
  }
  try {
    if ((await readLock(path)) === staleContent) await unlink(path).catch(() => {});
    return true;
  } finally {
    await unlink(guard).catch(() => {});
  }
}

/**
 * Creates the lock `path` holding `owner`, atomically; EEXIST if it exists. Synchronous, as is
 * the release: one metadata call of a few microseconds, where an asynchronous call would cost a
 * thread-pool round trip (~0.1 ms here) on every save.
 */
function createLock(path: string, owner: string): void {
  if (useFiles) return writeFileSync(path, owner, { flag: 'wx' });
  try {
    symlinkSync(owner, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    useFiles = true;
    writeFileSync(path, owner, { flag: 'wx' });
  }
}

/** Deletes `path`, ignoring any error (a lock someone else already removed, a temp file never made). */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}

/** Whether this process makes locks as files because symbolic links failed. */
let useFiles = false;

/** The owner in lock `path`, or `undefined` when there is no lock. */
async function readLock(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code !== 'EINVAL' && code !== 'UNKNOWN') throw error;
    return readFile(path, 'utf8').catch(() => undefined); // a lock made as a file
  }
}

function parseOwner(content: string): Owner | undefined {
  try {
    const owner = JSON.parse(content) as Owner;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' && typeof owner.nonce === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}
