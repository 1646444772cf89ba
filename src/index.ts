export { Storage, type FacadeOptions } from './storage.js';
export { type BackendKind, type BackendOptionsByKind } from './backends/kinds.js';
export { Store, type StoreOptions, type SaveOptions, type LoadOptions, type GcOptions, type CacheControl } from './store.js';
export type { Cascade, DanglingMode, VerifyReport, DanglingReference, UnreadableObject } from './graph.js';
export { Serializable, Container, TypeRegistry, type SerializableClass, type TypeInfo } from './model.js';
export {
  readDump,
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
} from './dump.js';
export { type CacheOptions, type CacheStats, DEFAULT_CACHE_MAX } from './cache.js';
export { checkId, compareIds, MAX_ID_LENGTH } from './ids.js';
export { MAX_DEPTH } from './storable.js';
export { StorageBackend, type BackendCapabilities, type BackendChange, type ChangeListener, type RecordsOptions, type StoredRecord, type RecordWrite, type RecordKind } from './backends/backend.js';
export { InMemoryBackend, type InMemoryBackendOptions } from './backends/memory.js';
export { FileBackend, type FileBackendOptions } from './backends/file.js';
export { SqliteBackend, type SqliteBackendOptions, type SqliteSettings, type PoolStatus } from './backends/sqlite.js';
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
  type CuttleErrorCode,
} from './errors.js';
