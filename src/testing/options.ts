/**
 * What `backendSuite` is told about the backend it tests.
 * @module
 */
import type { StorageBackend } from '../core.js';

/** Options of `backendSuite`. */
export interface BackendSuiteOptions {
  /** Closes `backend` and opens the same data again; the suite then checks that data survives. */
  reopen?: (backend: StorageBackend) => Promise<StorageBackend>;
  /** Whether the backend has transactions (`capabilities.transactions`): the suite then tests them. */
  transactions?: boolean;
  /**
   * Whether the backend has a full-text index (`capabilities.search`: `createSearchIndex` and
   * `search`): the suite then runs its full-text index section, which compares every answer with
   * the store's scan through every write path (and after `reopen`, when given). The suite fails when
   * this disagrees with what the backend's capabilities say, so the section cannot be skipped by
   * leaving it out. @default false
   */
  search?: boolean;
  /** Whether writeMany is all or nothing. */
  atomicBatches?: boolean;
  /** Runs after each test, once the backend is closed (remove temp files). */
  teardown?: () => void | Promise<void>;
  /**
   * Opens a second backend object on the data of `backend` (another connection, as another process
   * or server would): the suite then checks that each sees the other's changes and version checks.
   */
  peer?: (backend: StorageBackend) => StorageBackend | Promise<StorageBackend>;
  /** For a backend whose change feed is asynchronous: resolves once changes the peer made have arrived. */
  peerSettles?: () => Promise<void>;
  /**
   * For a backend whose change log is pruned (opened small for the suite): a number of changes by
   * the peer, in one `writeMany`, after which a reader that did not look meanwhile has lost its
   * place in the log. The suite then checks that such a reader gets a reset, never a stale read.
   */
  logOverflow?: number;
}
