/**
 * Progress of long CLI operations on stderr: a redrawn bar on a terminal, a line every few
 * seconds otherwise (logs, CI), nothing with `--quiet`. A timer keeps the bar redrawn and the
 * lines coming while nothing moves (a slow step between two updates), so a quiet stretch never
 * looks like a hang.
 * @module
 */
import type { DumpProgress } from './dump-format.js';

const REDRAW_MS = 100;
/** How often the timer redraws the bar on a terminal. */
const TICK_MS = 1000;
const LINE_EVERY_MS = 5000;
const WIDTH = 30;

/** Runs `tick` every `ms` until stopped; the default is an unref'd `setInterval`. */
export type Schedule = (tick: () => void, ms: number) => { stop(): void };

const everyInterval: Schedule = (tick, ms) => {
  const timer = setInterval(tick, ms);
  timer.unref(); // a progress report never keeps the process alive
  return { stop: () => clearInterval(timer) };
};

/** Options of {@link Progress}. */
export interface ProgressOptions {
  /** Write nothing. */
  quiet: boolean;
  /** @default process.stderr */
  out?: NodeJS.WriteStream;
  /** The clock, in ms. @default Date.now */
  now?: () => number;
  /** The timer behind the regular lines. @default an unref'd setInterval */
  schedule?: Schedule;
  /** What is counted, singular (a SQLite backup counts pages). @default 'object' */
  noun?: string;
}

/** `1 object`, `2 objects`, `1,000 objects`. */
export function countOf(count: number, noun: string): string {
  return `${count.toLocaleString('en')} ${noun}${count === 1 ? '' : 's'}`;
}

/** Reports {@link DumpProgress} for one operation named by `verb` ("exported", "imported", ...). */
export class Progress {
  readonly #verb: string;
  readonly #noun: string;
  readonly #out: NodeJS.WriteStream;
  readonly #quiet: boolean;
  readonly #now: () => number;
  readonly #started: number;
  readonly #timer: { stop(): void } | undefined;
  #last = 0;
  #done = 0;
  #total: number | undefined;

  constructor(verb: string, options: ProgressOptions) {
    this.#verb = verb;
    this.#noun = options.noun ?? 'object';
    this.#quiet = options.quiet;
    this.#out = options.out ?? process.stderr;
    this.#now = options.now ?? Date.now;
    this.#started = this.#now();
    if (!this.#quiet) this.#timer = (options.schedule ?? everyInterval)(() => this.#print(), this.#out.isTTY ? TICK_MS : LINE_EVERY_MS);
  }

  /** Pass this as `onProgress`. On a terminal it redraws the bar (at most every 100 ms); otherwise the timer writes the lines. */
  readonly update = ({ done, total }: DumpProgress): void => {
    this.#done = done;
    if (total !== undefined) this.#total = total;
    if (this.#quiet || !this.#out.isTTY || this.#now() - this.#last < REDRAW_MS) return;
    this.#print();
  };

  /** Stops the timer and prints the closing line: how many objects, how long. */
  finish(): void {
    this.#timer?.stop();
    if (this.#quiet) return;
    const seconds = (this.#now() - this.#started) / 1000;
    if (this.#out.isTTY) this.#out.write('\r\u001b[K');
    this.#out.write(`${this.#verb} ${countOf(this.#done, this.#noun)} in ${seconds.toFixed(1)} s\n`);
  }

  #print(): void {
    const now = (this.#last = this.#now());
    const line = this.#describe(this.#done, this.#total, now);
    if (this.#out.isTTY) this.#out.write(`\r${line}\u001b[K`);
    else this.#out.write(`${line}\n`);
  }

  #describe(done: number, total: number | undefined, now: number): string {
    const rate = done / Math.max(0.001, (now - this.#started) / 1000);
    const count = `${done.toLocaleString('en')}${total !== undefined ? `/${total.toLocaleString('en')}` : ''} ${this.#noun}s`;
    const speed = `${Math.round(rate).toLocaleString('en')}/s`;
    if (total === undefined || total === 0) return `${this.#verb} ${count}, ${speed}`;
    const share = Math.min(1, done / total);
    const bar = this.#out.isTTY ? `[${'#'.repeat(Math.round(share * WIDTH)).padEnd(WIDTH, '-')}] ` : '';
    return `${this.#verb} ${bar}${Math.floor(share * 100)}% ${count}, ${speed}`;
  }
}
