/**
 * The change counter behind `FileBackend.externalChanges()`: one append-only file per root,
 * `<root>/.cuttle-changes`, that every process appends one byte to after each change it makes
 * (save, delete, clear). Its size is the number of changes since it was last reset.
 *
 * A process remembers the size it last saw plus its own appends. Appends are synchronous (a few
 * microseconds), so no own append is ever half-counted when the synchronous check runs: a size
 * other than expected means another process (or another backend object) changed something, and
 * an expected size means nobody did. Several processes appending with `O_APPEND` never lose a
 * byte, so sizes only add up.
 *
 * The file is reset to empty (renamed over by a fresh one) once it passes {@link COMPACT_BYTES};
 * that changes its inode, which every checker sees as a change. Each append opens the file by
 * path, so an append can only land in a replaced file if it began before the reset, and then the
 * reset itself is reported to everyone after it.
 *
 * A read-only backend never appends: it only watches the file, if there is one (a root that no
 * writer ever opened has none, and then nobody can have changed it since).
 * @module
 */
import { appendFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempName } from './file-atomic.js';

/** The counter's file name under the root. */
export const CHANGES_FILE = '.cuttle-changes';
const COMPACT_BYTES = 1 << 20;
/** How many own appends between two looks at the file's size for compaction. */
const COMPACT_EVERY = 4096;

/** One root's change counter, as seen by one backend object. */
export class ChangeCounter {
  readonly #path: string;
  readonly #root: string;
  readonly #writable: boolean;
  #ino = -1;
  #size = -1;
  /** Own appends since #size was read. */
  #own = 0;
  #sinceCompactCheck = 0;

  /**
   * @param writable false for a read-only backend: the file is neither created nor appended to.
   * @throws the system's error when `writable` and the file cannot be created or appended to.
   */
  constructor(root: string, writable: boolean) {
    this.#root = root;
    this.#path = join(root, CHANGES_FILE);
    this.#writable = writable;
    if (writable) appendFileSync(this.#path, '');
    this.changedElsewhere();
  }

  /** Counts one change by this process; call it once the change is visible on disk. */
  note(): void {
    appendFileSync(this.#path, '+');
    this.#own++;
    if (++this.#sinceCompactCheck >= COMPACT_EVERY) {
      this.#sinceCompactCheck = 0;
      if (statSync(this.#path).size > COMPACT_BYTES) {
        const temp = join(this.#root, tempName());
        writeFileSync(temp, '');
        renameSync(temp, this.#path);
      }
    }
  }

  /** Whether anyone else changed something since the previous call: one `stat`. */
  changedElsewhere(): boolean {
    let info = statSync(this.#path, { throwIfNoEntry: false });
    if (info === undefined && this.#writable) {
      appendFileSync(this.#path, ''); // deleted by hand: start again
      info = statSync(this.#path);
      this.#ino = -1;
    }
    // No file, for a read-only backend: as if empty, with an inode no file has.
    const { ino, size } = info ?? { ino: 0, size: 0 };
    const changed = ino !== this.#ino || size !== this.#size + this.#own;
    if (changed) {
      this.#ino = ino;
      this.#size = size;
      this.#own = 0;
    }
    return changed;
  }
}
