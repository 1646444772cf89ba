/**
 * The platform-neutral core of cuttle: the model, the codec, the store and its facade, the cache,
 * the memory backend, the backend contract and the dump format. It imports no `node:` module and
 * no native package, so it bundles for a browser (src/browser.ts); the Node entry (src/index.ts)
 * adds the file, SQLite and PostgreSQL backends and dump files.
 * @module
 */
export { Storage, type FacadeOptions } from './storage.js';
export { defineBackendKind, type BackendKind, type BackendKindDefinition, type BackendOptionsByKind } from './kinds.js';
export { Store, type StoreOptions, type SaveOptions, type LoadOptions, type GcOptions, type CacheControl, type StoreChange, type WatchOptions } from './store.js';
export type { Cascade, DanglingMode, VerifyReport, DanglingReference, UnreadableObject } from './graph.js';
export { Serializable, Container, TypeRegistry, type SerializableClass, type TypeInfo } from './model.js';
export {
  recordLine,
  DUMP_FORMAT,
  DUMP_END_FORMAT,
  DUMP_VERSION,
  type Dump,
  type DumpHeader,
  type DumpTrailer,
  type DumpProgress,
  type ExportOptions,
  type ExportSummary,
  type ImportMode,
  type ImportOptions,
  type ImportSummary,
} from './dump-format.js';
export type { DumpReadable, DumpWritable } from './platform.js';
export type { BackupOptions, BackupProgress, BackupSummary } from './backup-types.js';
export type { UpgradeOptions, UpgradeProgress, UpgradeSummary } from './upgrade.js';
export { DUMP_MEDIA_TYPE } from './dump-blob.js';
export { type CacheOptions, type CacheStats, DEFAULT_CACHE_MAX } from './cache.js';
export { checkId, compareIds, MAX_ID_LENGTH, MAX_NAMESPACE } from './ids.js';
export { MAX_DEPTH } from './storable.js';
export {
  StorageBackend,
  type BackendCapabilities,
  type BackendChange,
  type ChangeListener,
  type RecordsOptions,
  type StoredRecord,
  type RecordWrite,
  type RecordKind,
  type FindAnswer,
  type BackendFindOptions,
  type HeldRecord,
  isHeld,
  type SearchAnswer,
  type BackendTransaction,
  type BackendTransactionOptions,
} from './backends/backend.js';
export { toQuery } from './query/query.js';
export { tokenize, type SearchOptions, type SearchTerm } from './query/search.js';
export { evaluate as evaluateQuery, compareValues, type Candidate } from './query/evaluate.js';
export { QueryRef, type Where, type SortSpec, type FindOptions, type CountOptions, type Query, type QueryNode, type QueryValue, type SortKey, type FieldOp } from './query/query.js';
export { Transaction, type TransactionOptions, type DeleteOptions, type TransactionSaveOptions } from './transaction.js';
export { InMemoryBackend, type InMemoryBackendOptions } from './backends/memory.js';
export { NamespacedBackend, DEFAULT_NAMESPACE, splitStoredType } from './namespace.js';
export {
  CuttleError,
  NotFoundError,
  InvalidIdError,
  UnknownTypeError,
  DuplicateTypeError,
  CorruptDataError,
  ConflictError,
  DanglingReferenceError,
  DumpFormatError,
  InvalidOptionError,
  ClosedError,
  LockTimeoutError,
  InvalidValueError,
  ReadOnlyError,
  BackendError,
  UnsupportedError,
  InvalidQueryError,
  TransactionError,
  type TransactionFailure,
  TypeVersionError,
  type CuttleErrorCode,
} from './errors.js';
