/**
 * Assertions the conformance suite needs beyond uvu's.
 * @module
 */
import * as assert from 'uvu/assert';

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
