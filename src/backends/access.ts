/**
 * Opening a store's files: telling a store that exists but cannot be written (a read-only
 * filesystem, no write permission), which backends then open read-only, from one that does not
 * exist or cannot be reached, which is an error naming it. Shared by the file and SQLite backends.
 * @module
 */
import { BackendError } from '../errors.js';

/** The system's answers that mean "you may read this, but not write it". */
const READ_ONLY_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * Why `error`, met writing `file`, makes the store read-only (`on a read-only filesystem (EROFS
 * writing /srv/data/.cuttle-changes)`), or `undefined` when it is another failure.
 */
export function readOnlyBecause(error: unknown, file: string): string | undefined {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === undefined || !READ_ONLY_CODES.has(code)) return undefined;
  return `${code === 'EROFS' ? 'on a read-only filesystem' : 'no permission to write'} (${code} writing ${file})`;
}

/** The error for a store that is not there: `what` says what is missing (`no folder /srv/data`). */
export function storeMissing(store: string, file: string, what: string): BackendError {
  return new BackendError(`${store}: the store does not exist (${what})`, { store, systemCode: 'ENOENT', file });
}

/** The error for a store that cannot be opened or created, naming it and the file. */
export function cannotOpen(store: string, file: string, error: unknown): BackendError {
  const code = (error as { code?: unknown })?.code;
  return new BackendError(`${store}: cannot open ${file}: ${(error as Error)?.message ?? String(error)}`, { store, file, ...(typeof code === 'string' ? { systemCode: code } : {}) }, { cause: error });
}
