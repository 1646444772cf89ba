/**
 * The IndexedDB backend's change feed: what other backend objects on the same database (other
 * tabs, workers, or a second backend in this page) commit, told through a `BroadcastChannel`
 * named after the database.
 *
 * Every write transaction also adds one to a sequence number kept in the database (`meta`
 * store), so each commit has a number, and its message carries it. A backend accounts for every
 * number: its own commits and the messages it heard. {@link IndexedDbFeed.caughtUp} compares with
 * the stored number: once every number up to it is accounted for, every change committed before
 * has been delivered. A number still missing after `gapTimeout` ms (a tab closed between its
 * commit and its message), while later ones have arrived or a `caughtUp` waits for it, makes a
 * reset. Messages are a hint that keeps caches fast; the number is what tells a missed one.
 *
 * A page also resets when it may have missed messages without a gap to show it: when it becomes
 * visible again (a hidden tab may have been frozen) and when it is restored from the back-forward
 * cache.
 * @module
 */
import type { BackendChange } from './backend.js';
import { ChangeListeners } from './change-listeners.js';

/** What one commit posts: its sequence number and what it changed. */
interface FeedMessage {
  readonly seq: number;
  readonly changes: readonly BackendChange[];
}

/** One backend object's side of the feed: its channel, its count of commits, its listeners. */
export class IndexedDbFeed {
  /** The backend's `changes()` subscribers. */
  readonly listeners = new ChangeListeners();
  readonly #channel: BroadcastChannel | undefined;
  /** Every sequence number up to this one is accounted for. */
  #known = 0;
  /** Numbers above {@link #known} accounted for already (commits heard out of order). */
  readonly #ahead = new Set<number>();
  /** Callers of {@link caughtUp} waiting for {@link #known} to reach a number. */
  readonly #waiting = new Set<{ seq: number; resolve: () => void }>();
  readonly #gapTimeout: number;
  /** Set while a number is missing below one heard: when it fires, the missing one is lost. */
  #gapTimer: ReturnType<typeof setTimeout> | undefined;

  /** @param gapTimeout how long a missing number may stay missing, in ms, before a reset. */
  constructor(channelName: string, gapTimeout: number) {
    this.#gapTimeout = gapTimeout;
    this.#channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(channelName) : undefined;
    if (this.#channel) {
      // Node keeps its process alive for an open channel; a browser has no unref.
      (this.#channel as { unref?: () => void }).unref?.();
      this.#channel.onmessage = (event: MessageEvent<FeedMessage>) => this.#heard(event.data);
      // A message that could not be read may have been a change: drop everything.
      this.#channel.onmessageerror = () => this.reset();
    }
    globalThis.document?.addEventListener('visibilitychange', this.#onVisibilityChange);
    globalThis.addEventListener?.('pageshow', this.#onPageShow);
  }

  /** Whether other backend objects can tell this one (there is a `BroadcastChannel`). */
  get enabled(): boolean {
    return this.#channel !== undefined;
  }

  /** Starts counting from the number stored when the database was opened. */
  start(seq: number): void {
    this.#known = Math.max(this.#known, seq);
    for (const n of this.#ahead) if (n <= this.#known) this.#ahead.delete(n);
    this.#advance();
  }

  /** This backend committed `seq` with `changes`: accounts for it and tells the others. */
  committed(seq: number, changes: readonly BackendChange[]): void {
    this.#account(seq);
    this.#channel?.postMessage({ seq, changes } satisfies FeedMessage);
  }

  /** Tells the listeners that anything may have changed. */
  reset(): void {
    this.listeners.deliver([{ reset: true }]);
  }

  /**
   * Resolves once every commit up to `seq` is accounted for. If one is still missing after
   * `timeout` ms, its message was lost: the listeners get a reset and counting goes on from `seq`.
   */
  caughtUp(seq: number, timeout: number): Promise<void> {
    if (this.#known >= seq) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = { seq, resolve };
      const timer = setTimeout(() => {
        if (!this.#waiting.delete(entry)) return;
        this.reset();
        this.start(seq);
        resolve();
      }, timeout);
      entry.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiting.add(entry);
    });
  }

  /** Stops listening (the channel, the page's events) and releases whoever waits in {@link caughtUp}. */
  close(): void {
    this.#channel?.close();
    globalThis.document?.removeEventListener('visibilitychange', this.#onVisibilityChange);
    globalThis.removeEventListener?.('pageshow', this.#onPageShow);
    clearTimeout(this.#gapTimer);
    for (const entry of this.#waiting) entry.resolve();
    this.#waiting.clear();
  }

  /** A tab that was hidden may have been frozen and missed messages: drop every cached copy. */
  readonly #onVisibilityChange = (): void => {
    if (globalThis.document?.visibilityState === 'visible') this.reset();
  };

  /** A page restored from the back-forward cache heard nothing while it was there. */
  readonly #onPageShow = (event: Event): void => {
    if ((event as PageTransitionEvent).persisted) this.reset();
  };

  #giveUpGap(): void {
    this.#gapTimer = undefined;
    if (this.#ahead.size === 0) return;
    let top = this.#known;
    for (const seq of this.#ahead) top = Math.max(top, seq);
    this.reset();
    this.start(top);
  }

  #heard(message: FeedMessage): void {
    if (typeof message?.seq !== 'number' || !Array.isArray(message.changes)) return;
    this.#account(message.seq);
    this.listeners.deliver(message.changes);
  }

  #account(seq: number): void {
    if (seq <= this.#known) return;
    this.#ahead.add(seq);
    this.#advance();
  }

  #advance(): void {
    while (this.#ahead.delete(this.#known + 1)) this.#known++;
    if (this.#ahead.size === 0) {
      clearTimeout(this.#gapTimer);
      this.#gapTimer = undefined;
    } else if (this.#gapTimer === undefined) {
      // Commits of several tabs may arrive out of order; a number missing for long was lost.
      this.#gapTimer = setTimeout(() => this.#giveUpGap(), this.#gapTimeout);
      (this.#gapTimer as { unref?: () => void }).unref?.();
    }
    for (const entry of this.#waiting) {
      if (this.#known >= entry.seq) {
        this.#waiting.delete(entry);
        entry.resolve();
      }
    }
  }
}
