/**
 * The shapes of an online backup (`Store.backup`), shared by the store, the backend contract and
 * the backends that take a snapshot their own way (SQLite's online backup API).
 * @module
 */

/** How far a backup has come. */
export interface BackupProgress {
  /** Units copied so far. */
  done: number;
  /** Units in all, when known. */
  total?: number;
  /** What is counted: database pages (a SQLite backup) or records (a dump). */
  unit: 'pages' | 'records';
}

/** Options of `Store.backup` / `Storage.backup`. */
export interface BackupOptions {
  /** Called as the copy advances (every step of a SQLite backup, every 1,000 records of a dump) and at the end. */
  onProgress?: (progress: BackupProgress) => void;
}

/** What a backup wrote. */
export interface BackupSummary {
  /**
   * `'sqlite'`: a SQLite database file, to open as a store (`sqlite:<file>`) or restore from;
   * `'dump'`: an NDJSON dump (docs/dump-format.md), to import or restore from.
   */
  format: 'sqlite' | 'dump';
  /** The file written, as given. */
  destination: string;
  /** Records in the backup. */
  count: number;
}
