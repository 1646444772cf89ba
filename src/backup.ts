/**
 * `Store.backup`: a consistent copy of a store while the application keeps writing. A backend with
 * a snapshot of its own (SQLite's online backup API) writes it; any other is dumped, each record
 * whole, from the snapshot its `records()` reads (see docs/backup.md for each backend's guarantee).
 * @module
 */
import type { StorageBackend } from './backends/backend.js';
import type { BackupOptions, BackupSummary } from './backup-types.js';
import { InvalidOptionError } from './errors.js';
import { checkOptions, describe } from './options.js';
import { theDumpFiles } from './platform.js';
import { NamespacedBackend } from './namespace.js';

export type { BackupOptions, BackupProgress, BackupSummary } from './backup-types.js';

/** Writes a backup of `backend` to the file `destination` (see {@link BackupSummary.format}). */
export async function backupBackend(backend: StorageBackend, destination: string, options: BackupOptions = {}): Promise<BackupSummary> {
  checkOptions('backup', options, ['onProgress']);
  if (typeof destination !== 'string' || destination === '') {
    throw new InvalidOptionError(`backup: the destination must be a file path, got ${describe(destination)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new InvalidOptionError(`backup: onProgress must be a function, got ${describe(options.onProgress)}`);
  }
  // A namespace view copies its backend's own way only for the default namespace (docs/guide.md, Namespaces).
  const whole = backend instanceof NamespacedBackend ? backend.wholeBackend : backend;
  if (whole?.backup) return whole.backup(destination, options);
  const onProgress = options.onProgress;
  const summary = await theDumpFiles('backup').exportTo(backend, destination, {
    ...(onProgress && { onProgress: ({ done, total }) => onProgress({ done, ...(total !== undefined && { total }), unit: 'records' }) }),
  });
  return { format: 'dump', destination, count: summary.count };
}
