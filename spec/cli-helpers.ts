// What the CLI specs share: the built command, run as a child process as a user runs it, and the
// classes of the stores they seed.
import { spawnSync } from 'node:child_process';
import { Container, Serializable } from '../src/index.js';

export const CLI = new URL('../dist/cli.js', import.meta.url).pathname;

export class Note extends Serializable {
  text = '';
  when = new Date(0);
}
export class Folder extends Container {
  notes: Note[] = [];
}

/** Runs `cuttle args...` (the built dist/cli.js) with `input` on standard input. */
export function cuttle(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
