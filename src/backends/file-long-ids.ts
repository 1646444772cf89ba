/**
 * The ids behind hashed file names. An id whose escaped name would pass the filesystem's name
 * limit (say 256 emoji: 1 KB of UTF-8, 3 KB escaped) is stored under a hashed name that cannot be
 * decoded; so that listing never has to open object files, each type folder keeps an append-only
 * index `.long-ids` of lines `<stem>\t<JSON id>`.
 *
 * An entry is appended (one `O_APPEND` write, which concurrent writers cannot interleave) before
 * the object file first appears, and never removed: a stale entry for a deleted object is harmless,
 * because listing starts from the folder's file names, and each entry is checked against its stem.
 * A hashed file without an entry (the index deleted by hand, or lost in a crash with
 * `durable: false`) is still listed: the file backend then reads that one file's header.
 * @module
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeId } from './file-names.js';

/** The index's file name in each type folder. */
export const LONG_IDS_FILE = '.long-ids';

/** Records that hashed stem `stem` (in folder `dir`) holds `id`. */
export async function addLongId(dir: string, stem: string, id: string): Promise<void> {
  await appendFile(join(dir, LONG_IDS_FILE), `${stem}\t${JSON.stringify(id)}\n`);
}

/** The index of folder `dir`: stem -> id. Lines that do not check out (torn, edited) are skipped. */
export async function readLongIds(dir: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const text = await readFile(join(dir, LONG_IDS_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  // The text after the last newline may be an append in progress.
  for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const stem = line.slice(0, tab);
    try {
      const id: unknown = JSON.parse(line.slice(tab + 1));
      if (typeof id === 'string' && encodeId(id) === stem) ids.set(stem, id);
    } catch {
      // a damaged line: the file backend falls back to the object file
    }
  }
  return ids;
}
