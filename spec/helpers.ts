// Shared test helpers: temp folders, error assertions, read-only mounts and unprivileged children.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import type { BackendChange, StorageBackend } from '../src/index.js';

/** A fresh temp folder; `remove()` deletes it. */
export function tempDir(prefix = 'cuttle-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export { rejects } from '../src/testing/assert.js';

/** Asserts that `fn` throws synchronously an error of `Class`; returns it. */
export function throwsError<E extends Error>(fn: () => unknown, Class: abstract new (...args: never[]) => E, message?: RegExp): E {
  try {
    fn();
  } catch (error) {
    assert.instance(error, Class);
    if (message) assert.match((error as Error).message, message);
    return error as E;
  }
  throw new assert.Assertion({ message: `expected ${Class.name} to be thrown`, generated: true, operator: 'throws', expects: Class.name, actual: 'returned' });
}

/** Whether the specs run as root, which the read-only mount and other-user specs need (they skip otherwise, saying so). */
export const IS_ROOT = process.getuid?.() === 0;

/**
 * A read-only view of the folder `source`: a bind mount at `<source>-ro`, remounted read-only, so
 * that writes there fail with EROFS even for root while `source` stays writable. Root only;
 * `unmount()` it in a `finally`.
 */
export function readOnlyView(source: string): { path: string; unmount(): void } {
  const path = `${source}-ro`;
  mkdirSync(path);
  execFileSync('mount', ['--bind', source, path]);
  const unmount = () => execFileSync('umount', [path]);
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', path]);
  } catch (error) {
    unmount();
    throw error;
  }
  return { path, unmount };
}

/**
 * Runs `node --import tsx <script> ...args` as the unprivileged user nobody (uid and gid 65534),
 * after letting it into `tempFolder` (made by {@link tempDir}, so 0700). Root only. Returns the
 * child's stdout; throws with its stderr if it fails.
 */
export function runAsNobody(script: string, args: string[], tempFolder: string): string {
  chmodSync(tempFolder, 0o755);
  const result = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--import', 'tsx', script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HOME: '/tmp' },
  });
  if (result.status !== 0) throw new Error(`${script} as nobody exited with ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/**
 * A backend's change feed as a test reads it: `poll()` runs its `pollChanges` and returns what the
 * feed delivered since the last poll (nothing when nobody else changed anything).
 */
export function feedOf(backend: StorageBackend): { poll(): BackendChange[]; stop(): void } {
  let delivered: BackendChange[] = [];
  const stop = backend.changes!((changes) => delivered.push(...changes));
  return {
    poll() {
      backend.pollChanges?.();
      const out = delivered;
      delivered = [];
      return out;
    },
    stop,
  };
}
