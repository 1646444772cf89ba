/**
 * Progress of long CLI operations on stderr: a redrawn bar on a terminal, a line every few
 * seconds otherwise (logs, CI), nothing with `--quiet`.
 * @module
 */
import type { DumpProgress } from './dump.js';

const REDRAW_MS = 100;
const LINE_EVERY_MS = 5000;
const WIDTH = 30;

/** Reports {@link DumpProgress} for one operation named by `verb` ("exported", "imported", ...). */
export class Progress {
  readonly #verb: string;
  readonly #out: NodeJS.WriteStream;
  readonly #quiet: boolean;
  readonly #started = Date.now();
  #last = 0;
  #done = 0;

  constructor(verb: string, options: { quiet: boolean; out?: NodeJS.WriteStream }) {
    this.#verb = verb;
    this.#quiet = options.quiet;
    this.#out = options.out ?? process.stderr;
  }

  /** Pass this as `onProgress`. */
  readonly update = ({ done, total }: DumpProgress): void => {
    this.#done = done;
    if (this.#quiet) return;
    const now = Date.now();
    if (now - this.#last < (this.#out.isTTY ? REDRAW_MS : LINE_EVERY_MS)) return;
    this.#last = now;
    const line = this.#describe(done, total, now);
    if (this.#out.isTTY) this.#out.write(`\r${line}\u001b[K`);
    else this.#out.write(`${line}\n`);
  };

  /** Prints the closing line: how many objects, how long. */
  finish(): void {
    if (this.#quiet) return;
    const seconds = (Date.now() - this.#started) / 1000;
    if (this.#out.isTTY) this.#out.write('\r\u001b[K');
    this.#out.write(`${this.#verb} ${this.#done.toLocaleString('en')} objects in ${seconds.toFixed(1)} s\n`);
  }

  #describe(done: number, total: number | undefined, now: number): string {
    const rate = done / Math.max(0.001, (now - this.#started) / 1000);
    const count = `${done.toLocaleString('en')}${total !== undefined ? `/${total.toLocaleString('en')}` : ''} objects`;
    const speed = `${Math.round(rate).toLocaleString('en')}/s`;
    if (total === undefined || total === 0) return `${this.#verb} ${count}, ${speed}`;
    const share = Math.min(1, done / total);
    const bar = this.#out.isTTY ? `[${'#'.repeat(Math.round(share * WIDTH)).padEnd(WIDTH, '-')}] ` : '';
    return `${this.#verb} ${bar}${Math.floor(share * 100)}% ${count}, ${speed}`;
  }
}
