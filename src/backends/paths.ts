/**
 * Which files a store is made of, as the filesystem sees them (symbolic links resolved, hard links
 * recognized), so that an export, import or migration never writes a dump over the store itself.
 * Shared by the backends' `ownsPath` and by the CLI, which asks before it opens anything.
 * @module
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** The endings SQLite gives the files beside a database: its WAL, its shared memory, its rollback journal. */
const SQLITE_COMPANIONS = ['', '-wal', '-shm', '-journal'];

/**
 * `path` made absolute with every symbolic link resolved in the part of it that exists; the rest
 * (a file an export is about to create) is kept as written.
 */
export function realPath(path: string): string {
  let head = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync.native(head), ...rest);
    } catch {
      const parent = dirname(head);
      if (parent === head) return resolve(path);
      rest.unshift(basename(head));
      head = parent;
    }
  }
}

/** Whether `path` is the folder `root` itself or anything under it. */
export function isInFolder(root: string, path: string): boolean {
  const inside = relative(realPath(root), realPath(path));
  return inside === '' || (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside));
}

/**
 * Whether `path` is the SQLite database `file`, one of the files SQLite keeps beside it (`-wal`,
 * `-shm`, `-journal`), or another name (a hard link) of one of them.
 */
export function isDatabaseFile(file: string, path: string): boolean {
  const database = realPath(file);
  const target = realPath(path);
  const files = SQLITE_COMPANIONS.map((ending) => database + ending);
  if (files.includes(target)) return true;
  const info = statSync(target, { throwIfNoEntry: false });
  if (info === undefined) return false;
  return files.some((own) => {
    const other = statSync(own, { throwIfNoEntry: false });
    return other !== undefined && other.dev === info.dev && other.ino === info.ino;
  });
}
