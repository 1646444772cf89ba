// Shared test helpers: temp folders, error assertions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';

/** A fresh temp folder; `remove()` deletes it. */
export function tempDir(prefix = 'cuttle-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Asserts that `promise` rejects with an error of `Class` (and `code`, when given); returns it. */
export async function rejects<E extends Error>(
  promise: Promise<unknown> | (() => Promise<unknown>),
  Class: abstract new (...args: never[]) => E,
  message?: RegExp,
): Promise<E> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (!(error instanceof Class)) {
      throw new assert.Assertion({
        message: `expected ${Class.name}, got ${(error as Error)?.name}: ${(error as Error)?.message}`,
        generated: true,
        operator: 'rejects',
        expects: Class.name,
        actual: error,
      });
    }
    if (message) assert.match(error.message, message);
    return error;
  }
  throw new assert.Assertion({ message: `expected a rejection with ${Class.name}`, generated: true, operator: 'rejects', expects: Class.name, actual: 'resolved' });
}

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
