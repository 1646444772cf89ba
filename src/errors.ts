/**
 * Every error cuttle throws on purpose is a {@link CuttleError} with a stable `code`, so callers
 * can branch on `err.code` (or `instanceof`) instead of parsing messages. Messages name the type,
 * id, file or line involved.
 * @module
 */

/** The stable codes of {@link CuttleError}; documented in docs/errors.md. */
export type CuttleErrorCode =
  | 'ERR_NOT_FOUND'
  | 'ERR_INVALID_ID'
  | 'ERR_UNKNOWN_TYPE'
  | 'ERR_DUPLICATE_TYPE'
  | 'ERR_CORRUPT_DATA'
  | 'ERR_CONFLICT'
  | 'ERR_DANGLING_REFERENCE'
  | 'ERR_DUMP_FORMAT'
  | 'ERR_INVALID_OPTION'
  | 'ERR_LOCK_TIMEOUT'
  | 'ERR_CLOSED'
  | 'ERR_INVALID_VALUE'
  | 'ERR_READ_ONLY'
  | 'ERR_BACKEND'
  | 'ERR_UNSUPPORTED'
  | 'ERR_INVALID_QUERY'
  | 'ERR_TRANSACTION'
  | 'ERR_TYPE_VERSION';

/** Base class of every error cuttle throws on purpose. */
export class CuttleError extends Error {
  /** A stable, machine-readable code such as `ERR_NOT_FOUND`. */
  readonly code: CuttleErrorCode;

  constructor(message: string, code: CuttleErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** `load` found no object with this type and id. */
export class NotFoundError extends CuttleError {
  constructor(
    readonly type: string,
    readonly id: string,
  ) {
    super(`${type} ${JSON.stringify(id)} not found`, 'ERR_NOT_FOUND');
  }
}

/** An id or type name broke the rules (see docs: non-empty, at most 256 characters, no control characters). */
export class InvalidIdError extends CuttleError {
  constructor(
    message: string,
    readonly value: unknown,
  ) {
    super(message, 'ERR_INVALID_ID');
  }
}

/** A stored type name has no registered class; call `Storage.register(TheClass)` first. */
export class UnknownTypeError extends CuttleError {
  constructor(readonly type: string) {
    super(
      `Unknown type "${type}": no class is registered under that name. ` +
        `Call Storage.register(${type}) (or store.register) before loading it.`,
      'ERR_UNKNOWN_TYPE',
    );
  }
}

/** Two different classes claimed one type name. */
export class DuplicateTypeError extends CuttleError {
  constructor(readonly type: string) {
    super(
      `Type name "${type}" is already registered to a different class. ` +
        `Give one of them its own name with \`static typeName = '...'\`.`,
      'ERR_DUPLICATE_TYPE',
    );
  }
}

/** Stored data could not be read back: bad JSON, a malformed record, a damaged database file. */
export class CorruptDataError extends CuttleError {
  constructor(
    message: string,
    readonly where: { type?: string; id?: string; file?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, 'ERR_CORRUPT_DATA', options);
  }
}

/** `save` was given an `expectedVersion` that is not the stored version. */
export class ConflictError extends CuttleError {
  constructor(
    readonly type: string,
    readonly id: string,
    readonly expectedVersion: number,
    /** The version in the store, or 0 when the object does not exist. */
    readonly actualVersion: number,
  ) {
    super(
      `${type} ${JSON.stringify(id)}: expected version ${expectedVersion}, ` +
        (actualVersion === 0 ? 'but it is not stored' : `but the stored version is ${actualVersion}`),
      'ERR_CONFLICT',
    );
  }
}

/** A container refers to an object that is no longer stored. */
export class DanglingReferenceError extends CuttleError {
  constructor(
    /** The container holding the reference. */
    readonly from: { type: string; id: string },
    /** Where in the container, e.g. `notes[3]` or `byKey.get("a")`. */
    readonly path: string,
    /** The missing target. */
    readonly target: { type: string; id: string },
  ) {
    super(
      `${from.type} ${JSON.stringify(from.id)} at ${path} refers to ${target.type} ` +
        `${JSON.stringify(target.id)}, which is not stored`,
      'ERR_DANGLING_REFERENCE',
    );
  }
}

/** A dump is malformed; `line` is 1-based. */
export class DumpFormatError extends CuttleError {
  constructor(
    message: string,
    readonly line: number,
    options?: { cause?: unknown },
  ) {
    super(`dump line ${line}: ${message}`, 'ERR_DUMP_FORMAT', options);
  }
}

/** An option was misspelt, of the wrong type or out of range. */
export class InvalidOptionError extends CuttleError {
  constructor(message: string) {
    super(message, 'ERR_INVALID_OPTION');
  }
}

/** Another process held an object's lock longer than the backend's `lockTimeout`. */
export class LockTimeoutError extends CuttleError {
  constructor(
    /** The lock file. */
    readonly file: string,
    /** How long the write waited, in ms. */
    readonly timeout: number,
    /** What the lock file holds: the owner's pid, host and nonce. */
    readonly owner: string,
  ) {
    super(
      `lock ${file} is still held after ${timeout} ms by ${owner}; ` +
        `if that process is gone, delete the lock file`,
      'ERR_LOCK_TIMEOUT',
    );
  }
}

/** The store or backend was closed. */
export class ClosedError extends CuttleError {
  constructor(what: string) {
    super(`${what} is closed`, 'ERR_CLOSED');
  }
}

/**
 * A value cuttle cannot store so that it loads back the same (a WeakMap, a Symbol, an instance of
 * a class that is not a Serializable, a document nested too deep): refused at save, before anything
 * is written, naming the object and the property path.
 */
export class InvalidValueError extends CuttleError {
  constructor(
    message: string,
    /** The object being saved, when known. */
    readonly where: { type?: string; id?: string; path?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, 'ERR_INVALID_VALUE', options);
  }
}

/** A write (save, delete, clear, import) to a store opened read-only or on a read-only filesystem. */
export class ReadOnlyError extends CuttleError {
  constructor(
    /** The backend's name, e.g. `file:/srv/data`. */
    readonly store: string,
    /** Why the store is read-only, e.g. "opened with readonly: true". */
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${store} is read-only (${reason}): it cannot be changed`, 'ERR_READ_ONLY', options);
  }
}

/**
 * The backend's storage failed: a full disk (`ENOSPC`, `SQLITE_FULL`), a permission denied
 * (`EACCES`), an I/O error. `systemCode` is the code the system, SQLite, PostgreSQL or IndexedDB (the
 * `DOMException`'s name, e.g. `QuotaExceededError`) gave; `cause` is the
 * original error. Nothing is half-written by such a failure: the operation did not happen.
 */
export class BackendError extends CuttleError {
  constructor(
    message: string,
    readonly details: {
      /** The backend's name, e.g. `sqlite:/srv/app.db`. */
      readonly store: string;
      /** The system's, SQLite's or PostgreSQL's code, e.g. `ENOSPC`, `SQLITE_FULL`, `57P01`. */
      readonly systemCode?: string;
      readonly type?: string;
      readonly id?: string;
      /** The file involved, when one is known. */
      readonly file?: string;
    },
    options?: { cause?: unknown },
  ) {
    super(message, 'ERR_BACKEND', options);
  }

  /** The system's, SQLite's or PostgreSQL's (SQLSTATE) code, e.g. `ENOSPC`, `57P01`. */
  get systemCode(): string | undefined {
    return this.details.systemCode;
  }

  /**
   * `error` as a BackendError naming `store`, the action and the object, when it is a failure of
   * the storage itself: a system error (`ENOSPC`, `EACCES`, `EIO`, ...) or SQLite's (`SQLITE_FULL`,
   * ...). Anything else (a CuttleError, a programming error) is returned as it is.
   */
  static wrap(error: unknown, store: string, action: string, type?: string, id?: string): unknown {
    if (error instanceof CuttleError || error === null || typeof error !== 'object') return error;
    const { code, path } = error as { code?: unknown; path?: unknown };
    if (typeof code !== 'string' || !SYSTEM_CODE.test(code)) return error;
    const what = type === undefined ? '' : id === undefined ? ` ${type}` : ` ${type} ${JSON.stringify(id)}`;
    const file = typeof path === 'string' ? path : undefined;
    const message = (error as Error).message ?? String(error);
    return new BackendError(
      `${store}: cannot ${action}${what}: ${message}${message.includes(code) ? '' : ` (${code})`}`,
      { store, systemCode: code, ...(type !== undefined && { type }), ...(id !== undefined && { id }), ...(file !== undefined && { file }) },
      { cause: error },
    );
  }
}

/**
 * The codes of system errors (ENOSPC, EACCES, ...), of SQLite's (SQLITE_FULL, SQLITE_IOERR_WRITE, ...)
 * and PostgreSQL's SQLSTATEs (57P01, 08006, 53100, ...: five digits or capitals, at least one digit).
 */
const SYSTEM_CODE = /^(E[A-Z0-9]+|SQLITE_[A-Z_]+|(?=[A-Z]*[0-9])[0-9A-Z]{5})$/;

/**
 * What was asked cannot be done here: this backend does not have the capability (a transaction on
 * the file backend), or this platform lacks what it needs (dump files in a browser). Never a
 * silent difference: the message says what is missing and what to use instead.
 */
export class UnsupportedError extends CuttleError {
  constructor(message: string) {
    super(message, 'ERR_UNSUPPORTED');
  }
}

/**
 * A query (`find`, `findOne`, `count`, `findEach`, `index`) is malformed: an unknown operator, an
 * operand of the wrong type, a path that is not a field path, a bad `sort`, `limit` or `skip`.
 * Thrown before anything is read, naming the operator and the path.
 */
export class InvalidQueryError extends CuttleError {
  constructor(
    message: string,
    /** The field path involved, e.g. `author.name`, when there is one. */
    readonly path?: string,
    /** The operator involved, e.g. `$gt`, when there is one. */
    readonly operator?: string,
  ) {
    super(message, 'ERR_INVALID_QUERY');
  }
}

/** Why a {@link TransactionError} was thrown. */
export type TransactionFailure =
  /** The transaction kept failing for conflicts with concurrent ones (serialization failures, deadlocks) after its retries. */
  | 'retries'
  /** `tx.transaction(...)` inside a transaction's callback: transactions do not nest. */
  | 'nested'
  /** The transaction object was used after its callback's promise settled. */
  | 'ended'
  /**
   * An object the open transaction loaded or saved was saved or deleted through the store itself
   * (`store.save`, `Storage.save`, `obj.save()`), outside the transaction.
   */
  | 'outside';

/**
 * A transaction could not commit, or was misused; `reason` says which (see {@link TransactionFailure}).
 * For `'retries'`, `attempts` is how many times the callback ran and `cause` the last failure.
 */
export class TransactionError extends CuttleError {
  constructor(
    message: string,
    readonly reason: TransactionFailure,
    readonly attempts?: number,
    options?: { cause?: unknown },
  ) {
    super(message, 'ERR_TRANSACTION', options);
  }
}

/**
 * A stored record's type version cannot become its class's: it was written by a newer version of
 * the class than the one loading it (an old application on new data), or it is older and the
 * class has no `static upgrade(data, fromVersion)`, or that upgrade failed (its error is the
 * `cause`). Never a silent load.
 */
export class TypeVersionError extends CuttleError {
  constructor(
    message: string,
    readonly type: string,
    readonly id: string,
    /** The version the record was written at. */
    readonly storedVersion: number,
    /** The class's `static version`. */
    readonly classVersion: number,
    options?: { cause?: unknown },
  ) {
    super(message, 'ERR_TYPE_VERSION', options);
  }
}
