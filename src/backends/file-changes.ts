/**
 * The file backend's change feed: one append-only file per root, `<root>/.cuttle-changes`, to
 * which every backend object (in any process) appends a line per change it makes, once the change
 * is on disk:
 *
 *     <origin> TAB <op> TAB <version> TAB <type> TAB <id> LF
 *
 * `op` is `s` (saved: the new version), `d` (deleted: the last version, 0 when unknown) or `r`
 * (reset: anything may have changed; `clear` and imports write one, with empty type and id). Ids
 * hold no control character, so no tab or newline, and go last. `origin` is the writer's own
 * random tag, so a reader skips its own lines.
 *
 * A line is written by one `write` on a file opened with `O_APPEND`, which on a local filesystem
 * lands whole at the end, so lines of writers appending at once never tear or interleave. A reader
 * keeps its byte position and reads only what was added; a line not yet ended (read while it is
 * written) waits for the next look.
 *
 * Pruning: once the file passes `maxBytes` (checked every 1,024 lines a writer appends), the
 * writer replaces it with an empty one (rename). That changes its inode (and birth time, where the
 * file system keeps one), and a reader that sees another file gets a reset: what it had not read
 * yet is gone. So is a reader that finds text it cannot read (a file of wave 1's counter, `+` bytes).
 *
 * A read-only backend never appends: it only reads the file, if there is one (a root no writer
 * ever opened has none, and then nobody can have changed it).
 * @module
 */
import { appendFileSync, closeSync, openSync, readSync, renameSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { BackendChange } from './backend.js';
import { tempName } from './file-atomic.js';

/** The log's file name under the root. */
export const CHANGES_FILE = '.cuttle-changes';
/** How many own appends between two looks at the file's size for pruning. */
const PRUNE_CHECK_EVERY = 1024;

/** One root's change log, as one backend object writes and reads it. */
export class FileChangeLog {
  readonly #path: string;
  readonly #root: string;
  readonly #origin: string;
  readonly #writable: boolean;
  readonly #maxBytes: number;
  /** Which file was read: its inode and birth time (a later file may reuse a freed inode); '' for none. */
  #identity = '';
  /** Bytes read so far (the start of the first line not read yet). */
  #position = 0;
  #sincePruneCheck = 0;

  /**
   * @param writable false for a read-only backend: the file is neither created nor appended to.
   * @param maxBytes the size past which a writer starts the file afresh.
   * @throws the system's error when `writable` and the file cannot be created or appended to.
   */
  constructor(root: string, origin: string, writable: boolean, maxBytes: number) {
    this.#root = root;
    this.#path = join(root, CHANGES_FILE);
    this.#origin = origin;
    this.#writable = writable;
    this.#maxBytes = maxBytes;
    if (writable) appendFileSync(this.#path, '');
    // Start at the end: what was changed before this backend opened is not news to it.
    const info = statSync(this.#path, { throwIfNoEntry: false });
    this.#identity = identityOf(info);
    this.#position = info?.size ?? 0;
  }

  /** Logs a save (the new version) or a delete (the last version, 0 when unknown) of (type, id). */
  note(type: string, id: string, version: number, deleted: boolean): void {
    this.#append(`${this.#origin}\t${deleted ? 'd' : 's'}\t${version}\t${type}\t${id}\n`);
  }

  /** Logs that anything may have changed (`clear`, an import). */
  noteReset(): void {
    this.#append(`${this.#origin}\tr\t0\t\t\n`);
  }

  /**
   * What others logged since the last call, in the order it was written, without this backend's
   * own lines; a single reset when some may have been lost (the file was started afresh, or holds
   * what cannot be read). One `stat` when nothing changed.
   */
  read(): BackendChange[] {
    let info = statSync(this.#path, { throwIfNoEntry: false });
    if (info === undefined && this.#writable) {
      appendFileSync(this.#path, ''); // deleted by hand: start again
      info = statSync(this.#path);
    }
    // No file, for a read-only backend: as if empty.
    const identity = identityOf(info);
    const size = info?.size ?? 0;
    if (identity !== this.#identity || size < this.#position) {
      // '': there was no file; its first appearance loses nothing.
      const replaced = this.#identity !== '';
      this.#identity = identity;
      this.#position = 0;
      // Whatever the new file holds came after the old one was given up: reset, then read on.
      const after = this.#readFrom(size);
      return replaced ? [{ reset: true }, ...after.filter((change) => change.reset !== true)] : after;
    }
    return size === this.#position ? [] : this.#readFrom(size);
  }

  /** Parses the lines between the position and `size`, advancing past the last whole one. */
  #readFrom(size: number): BackendChange[] {
    if (size <= this.#position) return [];
    const bytes = Buffer.allocUnsafe(size - this.#position);
    let length = 0;
    const fd = openSync(this.#path, 'r');
    try {
      while (length < bytes.length) {
        const read = readSync(fd, bytes, length, bytes.length - length, this.#position + length);
        if (read === 0) break;
        length += read;
      }
    } finally {
      closeSync(fd);
    }
    const end = bytes.lastIndexOf(10, length - 1);
    // wave 1's counter wrote bare '+' bytes: unreadable here, so a reset, and read on past them.
    let plus = 0;
    while (plus < length && bytes[plus] === 0x2b) plus++;
    if (plus > 0 && (end < plus || end === -1)) {
      this.#position += plus;
      return [{ reset: true }];
    }
    if (end === -1) return [];
    const text = bytes.toString('utf8', plus, end);
    this.#position += end + 1;
    const changes: BackendChange[] = plus > 0 ? [{ reset: true }] : [];
    for (const line of text.split('\n')) {
      const change = this.#parse(line);
      if (change !== undefined) changes.push(change);
    }
    return changes;
  }

  /** One line as a change, `undefined` for this backend's own; a reset for one it cannot read. */
  #parse(line: string): BackendChange | undefined {
    const parts = line.split('\t');
    if (parts.length !== 5) return { reset: true };
    const [origin, op, version, type, id] = parts as [string, string, string, string, string];
    if (origin === this.#origin) return undefined;
    if (op === 'r') return { reset: true };
    const number = Number(version);
    if ((op !== 's' && op !== 'd') || !Number.isSafeInteger(number) || type === '' || id === '') return { reset: true };
    return { type, id, version: number, deleted: op === 'd' };
  }

  #append(line: string): void {
    appendFileSync(this.#path, line);
    if (++this.#sincePruneCheck < PRUNE_CHECK_EVERY) return;
    this.#sincePruneCheck = 0;
    if (statSync(this.#path).size > this.#maxBytes) {
      const temp = join(this.#root, tempName());
      writeFileSync(temp, '');
      renameSync(temp, this.#path);
    }
  }
}

/** A file's identity across restarts of the log: inode and birth time; '' when there is no file. */
function identityOf(info: Stats | undefined): string {
  return info === undefined ? '' : `${info.ino}:${info.birthtimeMs}`;
}
