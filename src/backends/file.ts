import { existsSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { mkdir, opendir, readdir, rmdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { BackendError, ClosedError, ConflictError, CorruptDataError, InvalidIdError, InvalidOptionError, ReadOnlyError } from '../errors.js';
import { checkInteger, checkOneOf, checkOptions, describe } from '../options.js';
import { cannotOpen, readOnlyBecause, storeMissing } from './access.js';
import { StorageBackend, type BackendCapabilities, type ChangeListener, type RecordsOptions, type RecordWrite, type StoredRecord } from './backend.js';
import { sortIds } from '../ids.js';
import { createAtomic, isNoLinkError, syncDir, writeAtomic } from './file-atomic.js';
import { ChangeListeners } from './change-listeners.js';
import { CHANGES_FILE, FileChangeLog } from './file-changes.js';
import { FileLocks } from './file-lock.js';
import { addLongId, readLongIds } from './file-long-ids.js';
import { decodeId, decodeType, encodeId, encodeType, isHashedStem, isObjectName, SUFFIX } from './file-names.js';
import { formatRecord, parseRecord, readHeader, readRecordText } from './file-records.js';
import { removeLeftovers, sweepFolder } from './file-sweep.js';
import { commitStaging, finishSwap, removeStaging, stagingFolder, stagingFolders } from './file-swap.js';
import { isInFolder } from './paths.js';

/** Options of {@link FileBackend}. */
export interface FileBackendOptions {
  /** The root folder, created (with its parents) if missing, unless `readonly`. Required. */
  path: string;
  /**
   * `true`: never write in the root. Loads, lists, `count`, `exists` and exports work (and see
   * other processes' changes); saves, deletes, `clear` and imports throw `ReadOnlyError`; the root
   * must exist. Without it, a root that exists but cannot be written (a read-only filesystem, no
   * write permission) is opened read-only too, and {@link FileBackend.readonly} says so.
   * @default false
   */
  readonly?: boolean;
  /**
   * `true`: fsync each file before renaming it into place and its folder after, so a save
   * survives a power loss once it resolves. `false`: skip both fsyncs, about twice as fast; a
   * crash of the process still loses nothing and tears nothing (the rename is atomic), but a power
   * loss or kernel crash may lose the last seconds of saves, bring back older versions or, on
   * some filesystems, leave an empty file (a `CorruptDataError` on load).
   * @default true
   */
  durable?: boolean;
  /**
   * How long a save or delete waits for another process (or backend object) holding the same
   * object's lock, in ms, before throwing `LockTimeoutError`. 0: do not wait.
   * @default 10000
   */
  lockTimeout?: number;
  /**
   * What {@link FileBackend.records} (the export) does with a file that is not a valid record:
   * `'throw'` its `CorruptDataError`, or call this function with it and skip the file. `load`
   * always throws.
   * @default 'throw'
   */
  onCorrupt?: 'throw' | ((error: CorruptDataError) => void);
  /** The clock for `updatedAt`, in ms since the epoch. @default Date.now */
  now?: () => number;
  /**
   * The size, in bytes, past which the change log (`.cuttle-changes`, which tells other processes
   * what this one changed) is started afresh; a process that had not read it all then drops its
   * whole cache once instead of single objects. @default 1048576 (1 MiB: ~20,000 changes)
   */
  changeLogBytes?: number;
}

const OPTIONS = ['path', 'readonly', 'durable', 'lockTimeout', 'onCorrupt', 'now', 'changeLogBytes'] as const;
const DEFAULT_CHANGE_LOG_BYTES = 1 << 20;
/** A tag of this backend object's own for the lines it logs: random, hex. */
const ORIGIN = () => crypto.randomUUID().replaceAll('-', '');
/** How many objects `writeMany`, `putMany` and `records` work on at once. */
const PARALLEL = 16;
/** Records an import reads ahead and writes in parallel. */
const IMPORT_CHUNK = 256;

/**
 * The path of the object file `stem` in the type folder `folder`. Not `join`: the folder is
 * already normalized and a stem holds no separator, so joining would only re-normalize the path
 * on every load and save.
 */
function objectFile(folder: string, stem: string): string {
  return folder + sep + stem + SUFFIX;
}

/**
 * Keeps each object in its own JSON file, `<root>/<type>/<encoded id>.json`, that a person can
 * read. Saves are atomic (temp file, fsync, rename), serialized per object across processes by a
 * lock file, and announced to other processes through a change counter, so several processes can
 * share one root. See docs/backends/file.md.
 */
export class FileBackend extends StorageBackend {
  readonly name: string;
  /** The root folder, absolute. */
  readonly path: string;
  /** Whether saves are fsynced (see {@link FileBackendOptions.durable}). */
  readonly durable: boolean;
  readonly #locks: FileLocks;
  readonly #lockTimeout: number;
  readonly #changes: FileChangeLog;
  readonly #listeners = new ChangeListeners();
  readonly #onCorrupt: 'throw' | ((error: CorruptDataError) => void);
  readonly #now: () => number;
  /** Whether names differing only in case are one file here (macOS, Windows). */
  readonly #ignoresCase: boolean;
  /** Type folders known to exist with their exact name. */
  readonly #folders = new Set<string>();
  /** type -> the path of its folder (whether it exists or not): joined once, not per call. */
  readonly #folderPaths = new Map<string, string>();
  readonly #cleanup: Promise<void>;
  /** Why this backend is read-only, or `undefined` when it may write. */
  readonly #readOnly: string | undefined;
  /** Staging folders of replace imports that were committed but not swapped in yet (see file-swap.ts). */
  readonly #unfinished: string[] = [];
  /** The swap of {@link #unfinished} under way, which every call waits for. */
  #finishing: Promise<void> | undefined;
  /** Whether this filesystem makes hard links; if not, new objects are created under their lock. */
  #links = true;
  #closed = false;

  constructor(options: FileBackendOptions) {
    super();
    checkOptions('FileBackend', options, OPTIONS);
    checkFileOptions(options);
    this.path = resolve(options.path);
    this.name = `file:${this.path}`;
    this.durable = options.durable ?? true;
    this.#lockTimeout = options.lockTimeout ?? 10_000;
    this.#locks = new FileLocks(this.#lockTimeout);
    this.#onCorrupt = options.onCorrupt ?? 'throw';
    this.#now = options.now ?? Date.now;
    ({ changes: this.#changes, readOnly: this.#readOnly } = this.#open(options.readonly === true, options.changeLogBytes ?? DEFAULT_CHANGE_LOG_BYTES));
    this.#ignoresCase = existsSync(join(this.path, CHANGES_FILE.toUpperCase()));
    const { committed, abandoned } = stagingFolders(this.path);
    if (this.#readOnly !== undefined) {
      if (committed.length > 0) {
        throw new ReadOnlyError(this.name, `${this.#readOnly}; a replace import was interrupted in ${committed[0]} and must be finished first: open the store once without readonly, where it can be written`);
      }
      this.#cleanup = Promise.resolve();
      return;
    }
    this.#unfinished.push(...committed);
    this.#settle()?.catch(() => {}); // a failure is thrown to the first call, which tries again
    this.#cleanup = Promise.all([removeLeftovers(this.path), ...abandoned.map(removeStaging)]).then(() => {}, () => {});
  }

  /**
   * Opens the root: read-only when asked (it must exist then), else made if missing and opened
   * read-only if its change counter cannot be written (a read-only filesystem, no permission).
   */
  #open(readonly: boolean, maxBytes: number): { changes: FileChangeLog; readOnly: string | undefined } {
    if (readonly) {
      checkFolder(this.name, this.path);
      return { changes: new FileChangeLog(this.path, ORIGIN(), false, maxBytes), readOnly: 'opened with readonly: true' };
    }
    try {
      mkdirSync(this.path, { recursive: true });
    } catch (error) {
      throw cannotOpen(this.name, this.path, error);
    }
    try {
      return { changes: new FileChangeLog(this.path, ORIGIN(), true, maxBytes), readOnly: undefined };
    } catch (error) {
      const file = join(this.path, CHANGES_FILE);
      const why = readOnlyBecause(error, file);
      if (why === undefined) throw cannotOpen(this.name, file, error);
      return { changes: new FileChangeLog(this.path, ORIGIN(), false, maxBytes), readOnly: why };
    }
  }

  /** Whether saves, deletes, `clear` and imports are refused (see {@link FileBackendOptions.readonly}). */
  override get readonly(): boolean {
    return this.#readOnly !== undefined;
  }

  async load(type: string, id: string): Promise<StoredRecord | undefined> {
    this.#check();
    if (this.#unfinished.length > 0) await this.#settle();
    const folder = this.#knownFolder(type) ?? (await this.#folder(type));
    if (folder === undefined) return undefined;
    const file = objectFile(folder, encodeId(id));
    const text = await readRecordText(file);
    return text === undefined ? undefined : Object.freeze(parseRecord(text, file, type, id));
  }

  override async exists(type: string, id: string): Promise<boolean> {
    this.#check();
    if (this.#unfinished.length > 0) await this.#settle();
    const folder = this.#knownFolder(type) ?? (await this.#folder(type));
    if (folder === undefined) return false;
    // Synchronous calls: microseconds, against a thread-pool round trip for an asynchronous one.
    // existsSync (access) makes no Stats object, ~0.7 µs less than a stat; it says false on any
    // error, so a false is asked again of stat, which throws unless the file is just not there.
    const file = objectFile(folder, encodeId(id));
    return existsSync(file) || statSync(file, { throwIfNoEntry: false }) !== undefined;
  }

  async write(write: RecordWrite): Promise<StoredRecord> {
    this.#checkWritable();
    if (this.#unfinished.length > 0) await this.#settle();
    const { type, id, expectedVersion } = write;
    const stem = encodeId(id);
    // A new object needs no lock: it is created with link(), which never replaces a file, so of
    // two processes creating it at once one succeeds and the other saves again as an update.
    if (!expectedVersion && this.#links) {
      const record = this.#record(write, 1);
      if (await this.#createUnlocked(record, stem)) return record;
    }
    return this.#locked(type, stem, async (folder) => {
      const file = objectFile(folder, stem);
      for (;;) {
        const previous = await readHeader(file, type, id);
        const actual = previous?.version ?? 0;
        if (expectedVersion !== undefined && expectedVersion !== actual) throw new ConflictError(type, id, expectedVersion, actual);
        const record = this.#record(write, actual + 1);
        if (previous !== undefined) {
          await this.#replace(folder, stem, record);
          return record;
        }
        if (await this.#create(folder, stem, record, true)) return record;
        // Created without the lock by another process since the header was read: read it again.
      }
    });
  }

  /**
   * Stores `record` as the object's file without taking its lock, if there is no such file yet.
   * @returns false when the object exists or its folder vanished (another process's `clear()`):
   *   then the locked path decides.
   */
  async #createUnlocked(record: StoredRecord, stem: string): Promise<boolean> {
    const folder = await this.#makeFolder(record.type);
    // existsSync does not throw: a failed open would, and building its error costs ~5 µs.
    if (existsSync(objectFile(folder, stem))) return false;
    try {
      return await this.#create(folder, stem, record, false);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#folders.delete(record.type);
        return false;
      }
      throw error;
    }
  }

  /** The record `write` stores as `version`. */
  #record(write: RecordWrite, version: number): StoredRecord {
    const { type, id, kind, content } = write;
    return Object.freeze({ type, id, kind, content, version, updatedAt: this.#now() });
  }

  /**
   * Writes in parallel, several objects at a time; writes to one id stay in order. Not atomic:
   * on the first failure no further write starts, and those under way finish.
   */
  override async writeMany(writes: Iterable<RecordWrite>): Promise<StoredRecord[]> {
    this.#checkWritable();
    const all = [...writes];
    const stored: StoredRecord[] = new Array(all.length);
    await inParallel(all, async (write, i) => {
      stored[i] = await this.write(write);
    });
    return stored;
  }

  /** Puts in parallel, like {@link FileBackend.writeMany}. */
  override async putMany(records: Iterable<StoredRecord>): Promise<void> {
    this.#checkWritable();
    await inParallel([...records], (record) => this.put(record));
  }

  /**
   * Stores `record` as it is. A new object is created without the lock, as {@link write} creates
   * one; an existing one is replaced under its lock, so a write under way is not lost.
   */
  async put(record: StoredRecord): Promise<void> {
    this.#checkWritable();
    if (this.#unfinished.length > 0) await this.#settle();
    const stem = encodeId(record.id);
    const { type, id, kind, content, version, updatedAt } = record;
    const copy: StoredRecord = { type, id, kind, content, version, updatedAt };
    if (this.#links && (await this.#createUnlocked(copy, stem))) return;
    await this.#locked(type, stem, async (folder) => {
      // The index entry goes first, so that a hashed file is never listed without it; a second
      // entry for one stem is harmless.
      if (isHashedStem(stem)) await addLongId(folder, stem, id);
      await this.#replace(folder, stem, copy);
    });
  }

  /**
   * Stores the records in chunks, each written in parallel like {@link FileBackend.putMany}. A
   * merge is not atomic (the store validates a dump before it imports it). A replace is: the
   * records are staged in a folder of their own and swapped in once all are written (see
   * file-swap.ts), so a failure, or a kill, leaves the old objects or the new ones, never a mix.
   */
  override async importRecords(records: AsyncIterable<StoredRecord>, options: { replace: boolean }): Promise<number> {
    this.#checkWritable();
    if (this.#unfinished.length > 0) await this.#settle();
    if (options.replace) return this.#replaceAll(records);
    let count = 0;
    let chunk: StoredRecord[] = [];
    try {
      for await (const record of records) {
        chunk.push(record);
        if (chunk.length < IMPORT_CHUNK) continue;
        await this.putMany(chunk);
        count += chunk.length;
        chunk = [];
      }
      await this.putMany(chunk);
      return count + chunk.length;
    } finally {
      // Each record was logged as it was stored; the import as a whole is one reset, as on the other backends.
      this.#changes.noteReset();
    }
  }

  /** With `expectedVersion`, the stored version is read and checked under the object's lock. */
  async delete(type: string, id: string, expectedVersion?: number): Promise<boolean> {
    this.#checkWritable();
    if (this.#unfinished.length > 0) await this.#settle();
    const folder = await this.#folder(type);
    if (folder === undefined || (!this.#folders.has(type) && !existsSync(folder))) {
      if (expectedVersion) throw new ConflictError(type, id, expectedVersion, 0);
      return false;
    }
    const stem = encodeId(id);
    return this.#locked(type, stem, async (folder) => {
      if (expectedVersion !== undefined) {
        const actual = (await readHeader(objectFile(folder, stem), type, id))?.version ?? 0;
        if (actual !== expectedVersion) throw new ConflictError(type, id, expectedVersion, actual);
      }
      try {
        unlinkSync(objectFile(folder, stem)); // metadata only: synchronous, like the lock
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
      if (this.durable) await syncDir(folder);
      this.#changes.note(type, id, 0, true);
      return true;
    });
  }

  /** Reads the folder's file names only, never the files (see file-long-ids.ts for long ids). */
  async list(type: string): Promise<string[]> {
    this.#check();
    if (this.#unfinished.length > 0) await this.#settle();
    const folder = await this.#folder(type);
    if (folder === undefined) return [];
    const { ids, hashed } = await this.#scan(folder);
    if (hashed.length > 0) ids.push(...(await this.#hashedIds(folder, type, hashed)));
    return sortIds(ids);
  }

  override async count(type: string): Promise<number> {
    this.#check();
    if (this.#unfinished.length > 0) await this.#settle();
    const folder = await this.#folder(type);
    if (folder === undefined) return 0;
    const { ids, hashed } = await this.#scan(folder);
    return ids.length + hashed.length;
  }

  async listTypes(): Promise<string[]> {
    this.#check();
    if (this.#unfinished.length > 0) await this.#settle();
    const types: string[] = [];
    for (const entry of await readdir(this.path, { withFileTypes: true })) {
      const type = entry.isDirectory() ? decodeType(entry.name) : undefined;
      if (type !== undefined && (await hasObjects(join(this.path, entry.name)))) types.push(type);
    }
    return sortIds(types);
  }

  /**
   * Deletes every object file, and the folders left empty. Files cuttle did not write (other names,
   * other folders) stay, and so do the locks and temp files of saves under way in other processes.
   * Not atomic: another process saving during `clear()` may keep its object.
   */
  async clear(): Promise<void> {
    this.#checkWritable();
    if (this.#unfinished.length > 0) await this.#settle();
    for (const entry of await readdir(this.path, { withFileTypes: true })) {
      const type = entry.isDirectory() ? decodeType(entry.name) : undefined;
      if (type === undefined) continue;
      const folder = join(this.path, entry.name);
      await sweepFolder(folder, true);
      this.#folders.delete(type);
      const removed = await rmdir(folder).then(() => true, () => false);
      if (!removed && this.durable) await syncDir(folder);
    }
    if (this.durable) await syncDir(this.path);
    this.#changes.noteReset();
  }

  /**
   * Every record, ordered by type and then id, reading {@link PARALLEL} files at a time. A corrupt
   * file goes to `options.onCorrupt`, else to {@link FileBackendOptions.onCorrupt}: thrown, or
   * reported and skipped.
   */
  override async *records(options?: RecordsOptions): AsyncIterableIterator<StoredRecord> {
    const onCorrupt = options?.onCorrupt ?? this.#onCorrupt;
    for (const type of await this.listTypes()) {
      const ids = await this.list(type);
      for (let i = 0; i < ids.length; i += PARALLEL) {
        const loads = await Promise.allSettled(ids.slice(i, i + PARALLEL).map((id) => this.load(type, id)));
        for (const load of loads) {
          if (load.status === 'fulfilled') {
            if (load.value) yield load.value; // undefined: deleted since the listing
          } else if (load.reason instanceof CorruptDataError && onCorrupt !== 'throw') {
            onCorrupt(load.reason);
          } else {
            throw load.reason;
          }
        }
      }
    }
  }

  /** The root and everything under it, symbolic links resolved. */
  override ownsPath(path: string): boolean {
    return isInFolder(this.path, path);
  }

  /** The change feed: what other processes and backend objects on this root log (see file-changes.ts). */
  override changes(listener: ChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  /**
   * Reads `<root>/.cuttle-changes` (one `stat` when nobody else changed anything) and delivers
   * what others logged since the last look to the {@link changes} listeners.
   */
  override pollChanges(): void {
    if (this.#closed) return;
    this.#listeners.deliver(this.#changes.read());
  }

  /** Other processes' changes are reported: see {@link changes}. */
  override get capabilities(): BackendCapabilities {
    return { ...super.capabilities, changeFeed: true };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#finishing?.catch(() => {});
    await this.#cleanup;
  }

  /** A replace import: staged, committed, swapped in (see file-swap.ts). */
  async #replaceAll(records: AsyncIterable<StoredRecord>): Promise<number> {
    const staging = stagingFolder(this.path);
    let count: number;
    try {
      const stage = new FileBackend({ path: staging, durable: this.durable, lockTimeout: this.#lockTimeout, now: this.#now });
      try {
        count = await stage.importRecords(records, { replace: false });
      } finally {
        await stage.close();
      }
      await commitStaging(staging, this.durable);
    } catch (error) {
      await removeStaging(staging);
      throw error;
    }
    // Committed: from here on the import is done, and a failed swap is finished by the next call.
    this.#unfinished.push(staging);
    await this.#settle();
    return count;
  }

  /**
   * Finishes the swaps of committed replace imports (this backend's, or those a killed process
   * left), one at a time; every call waits for it. A failure is thrown, and the next call tries again.
   */
  #settle(): Promise<void> | undefined {
    if (this.#unfinished.length === 0) return undefined;
    return (this.#finishing ??= (async () => {
      try {
        while (this.#unfinished.length > 0) {
          await finishSwap(this.path, this.#unfinished[0]!, this.#locks, this.durable);
          this.#unfinished.shift();
          this.#folders.clear();
          this.#changes.noteReset();
        }
      } finally {
        this.#finishing = undefined;
      }
    })());
  }

  /** Writes `record` over the object's file. */
  async #replace(folder: string, stem: string, record: StoredRecord): Promise<void> {
    await writeAtomic(folder, stem + SUFFIX, formatRecord(record), this.durable, this.path);
    this.#changes.note(record.type, record.id, record.version, false);
  }

  /**
   * Writes `record` as the object's file if there is none: by link, or, where this filesystem has
   * no hard links, by rename when the caller holds the object's lock (`locked`).
   * @returns false when the file exists, or when links fail and the caller does not hold the lock
   *   (it must then create the object under the lock).
   */
  async #create(folder: string, stem: string, record: StoredRecord, locked: boolean): Promise<boolean> {
    // The index entry goes first, so that a hashed file is never listed without it.
    if (isHashedStem(stem)) await addLongId(folder, stem, record.id);
    const text = formatRecord(record);
    if (this.#links) {
      try {
        if (!(await createAtomic(folder, stem + SUFFIX, text, this.durable, this.path))) return false;
        this.#changes.note(record.type, record.id, record.version, false);
        return true;
      } catch (error) {
        if (!isNoLinkError(error)) throw error;
        this.#links = false;
      }
    }
    if (!locked) return false;
    await writeAtomic(folder, stem + SUFFIX, text, this.durable, this.path);
    this.#changes.note(record.type, record.id, record.version, false);
    return true;
  }

  /** Runs `fn` holding the lock of (type, stem), in the type's folder, made if missing. */
  async #locked<T>(type: string, stem: string, fn: (folder: string) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const folder = await this.#makeFolder(type);
      try {
        return await this.#locks.with(join(folder, `.${stem}.lock`), () => fn(folder));
      } catch (error) {
        // Another process's clear() removed the folder between our mkdir and our lock: again.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 3) throw error;
        this.#folders.delete(type);
      }
    }
  }

  /**
   * The folder of `type` when knowing it takes no disk access (the filesystem tells case apart,
   * or the folder was seen with its exact name); otherwise `undefined`: ask {@link #folder}.
   */
  #knownFolder(type: string): string | undefined {
    return this.#folders.has(type) || !this.#ignoresCase ? this.#folderPath(type) : undefined;
  }

  #folderPath(type: string): string {
    let folder = this.#folderPaths.get(type);
    if (folder === undefined) this.#folderPaths.set(type, (folder = join(this.path, encodeType(type))));
    return folder;
  }

  /** The folder of `type` if it exists (with this exact name), else `undefined`. */
  async #folder(type: string): Promise<string | undefined> {
    const folder = this.#folderPath(type);
    if (this.#folders.has(type) || !this.#ignoresCase) return folder;
    if (!(await readdir(this.path)).includes(encodeType(type))) return undefined;
    this.#folders.add(type);
    return folder;
  }

  async #makeFolder(type: string): Promise<string> {
    const folder = this.#folderPath(type);
    if (this.#folders.has(type)) return folder;
    const name = encodeType(type);
    try {
      await mkdir(folder);
      if (this.durable) await syncDir(this.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        await mkdir(this.path, { recursive: true }); // someone removed the root
        return this.#makeFolder(type);
      }
      if (code !== 'EEXIST') throw error;
    }
    const names = this.#ignoresCase ? await readdir(this.path) : [name];
    if (!names.includes(name)) {
      const other = names.find((entry) => entry.toLowerCase() === name.toLowerCase());
      throw new InvalidIdError(
        `FileBackend: cannot store type "${type}" in ${this.path}: this filesystem ignores case, ` +
          `and folder "${other}" holds another type`,
        type,
      );
    }
    this.#folders.add(type);
    return folder;
  }

  /** The object file names in `folder`: decoded ids, and hashed stems to look up. */
  async #scan(folder: string): Promise<{ ids: string[]; hashed: string[] }> {
    const ids: string[] = [];
    const hashed: string[] = [];
    for (const entry of await readdir(folder, { withFileTypes: true }).catch(ifMissing([]))) {
      const name = entry.name;
      if (!name.endsWith(SUFFIX) || entry.isDirectory()) continue;
      const stem = name.slice(0, -SUFFIX.length);
      const id = decodeId(stem);
      if (id !== undefined) ids.push(id);
      else if (isHashedStem(stem)) hashed.push(stem);
    }
    return { ids, hashed };
  }

  /** The ids of hashed stems: from the index, or else from the file's header. */
  async #hashedIds(folder: string, type: string, stems: string[]): Promise<string[]> {
    const index = await readLongIds(folder);
    const ids: string[] = [];
    for (const stem of stems) {
      let id = index.get(stem);
      if (id === undefined) {
        const header = await readHeader(objectFile(folder, stem), type).catch(() => undefined);
        if (header !== undefined && encodeId(header.id) === stem) id = header.id;
      }
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  #check(): void {
    if (this.#closed) throw new ClosedError(`FileBackend (${this.path})`);
  }

  #checkWritable(): void {
    this.#check();
    if (this.#readOnly !== undefined) throw new ReadOnlyError(this.name, this.#readOnly);
  }
}

/** Throws unless `path`, the root of `store`, is an existing folder. */
function checkFolder(store: string, path: string): void {
  const info = statSync(path, { throwIfNoEntry: false });
  if (info === undefined) throw storeMissing(store, path, `no folder ${path}`);
  if (!info.isDirectory()) throw new BackendError(`${store}: ${path} is not a folder`, { store, systemCode: 'ENOTDIR', file: path });
}

function checkFileOptions(options: FileBackendOptions): void {
  if (options === undefined || typeof options.path !== 'string' || options.path === '') {
    throw new InvalidOptionError(`FileBackend: path (the root folder) must be a non-empty string, got ${describe(options?.path)}`);
  }
  checkOneOf('FileBackend', 'readonly', options.readonly, [true, false]);
  checkOneOf('FileBackend', 'durable', options.durable, [true, false]);
  checkInteger('FileBackend', 'changeLogBytes', options.changeLogBytes, 1024);
  checkInteger('FileBackend', 'lockTimeout', options.lockTimeout, 0);
  if (options.onCorrupt !== undefined && options.onCorrupt !== 'throw' && typeof options.onCorrupt !== 'function') {
    throw new InvalidOptionError(`FileBackend: onCorrupt must be "throw" or a function, got ${describe(options.onCorrupt)}`);
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new InvalidOptionError(`FileBackend: now must be a function, got ${describe(options.now)}`);
  }
}

/**
 * Runs `fn` on every item, {@link PARALLEL} at a time, items with one type and id one after the
 * other in their order. Stops starting new ones at the first failure, which it throws.
 */
async function inParallel<T extends { type: string; id: string }>(items: readonly T[], fn: (item: T, index: number) => Promise<void>): Promise<void> {
  const groups = new Map<string, number[]>();
  items.forEach((item, i) => {
    const key = `${item.type}\u0000${item.id}`;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  const queue = [...groups.values()];
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < queue.length && !failed) {
      for (const i of queue[next++]!) {
        if (failed) return;
        try {
          await fn(items[i]!, i);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, worker));
}

/** Whether `folder` holds at least one object file; stops at the first. */
async function hasObjects(folder: string): Promise<boolean> {
  const dir = await opendir(folder).catch(ifMissing(undefined));
  if (dir === undefined) return false;
  for await (const entry of dir) {
    if (!entry.isDirectory() && isObjectName(entry.name)) return true;
  }
  return false;
}

/** A `.catch` handler: `value` when the error is ENOENT, else the error again. */
function ifMissing<T>(value: T): (error: NodeJS.ErrnoException) => T {
  return (error) => {
    if (error.code === 'ENOENT') return value;
    throw error;
  };
}
