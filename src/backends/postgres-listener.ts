/**
 * The PostgreSQL backend's change feed: what a write announces with `pg_notify` ({@link Notifier}),
 * and the one dedicated connection that listens, checks itself and reconnects ({@link ChangeFeed}).
 *
 * A notification names the changed objects (type, id, version, deleted) and the writer's origin,
 * never the document, with the numbers its writes took from the table's change sequence. The
 * listener keeps every number it heard, and every `pollInterval` reads the sequence on its own
 * connection. That read is the heartbeat (no answer by the next poll: the connection is taken for
 * dead and replaced) and the check that nothing went unheard (any number taken before the previous
 * poll and still unheard: a reset). Notifications make the cache fast; the sequence makes it right.
 * @module
 */
import type { Client, Notification } from 'pg';
import type { BackendChange, ChangeListener } from './backend.js';
import type { FeedStatus } from './postgres-status.js';

/** PostgreSQL refuses a payload of 8000 bytes or more; stay clear of it. */
export const MAX_PAYLOAD_BYTES = 7900;
/** A batch needing more notifications than this is announced as one reset instead. */
export const MAX_PAYLOADS = 8;

/** A change as a writer announces it. */
export interface AnnouncedChange {
  readonly type: string;
  readonly id: string;
  readonly version: number;
  readonly deleted: boolean;
}

/**
 * The payloads announcing `changes` (or a reset) by `origin`, each under {@link MAX_PAYLOAD_BYTES}:
 * `{"o":origin,"s":seqs,"c":[[type,id,version,deleted],...]}`, or `{"o":origin,"s":seqs,"r":1}`.
 * `seqs` are the change-sequence numbers the writes took, as in {@link encodeSeqs}; the first
 * payload carries them (all payloads go out in one statement, so they arrive together), the others
 * `[]`. More than {@link MAX_PAYLOADS} payloads become one reset.
 */
export function encodeChanges(origin: string, seqs: readonly number[], changes: readonly AnnouncedChange[] | 'reset'): string[] {
  const numbers = encodeSeqs(seqs);
  const head = (first: boolean) => `{"o":${JSON.stringify(origin)},"s":${first ? numbers : '[]'},`;
  const reset = [`${head(true)}"r":1}`];
  if (changes === 'reset') return reset;
  const payloads: string[] = [];
  let items: string[] = [];
  let bytes = Buffer.byteLength(head(true)) + 8;
  for (const { type, id, version, deleted } of changes) {
    const item = JSON.stringify([type, id, version, deleted ? 1 : 0]);
    const size = Buffer.byteLength(item) + 1;
    if (items.length > 0 && bytes + size > MAX_PAYLOAD_BYTES) {
      payloads.push(`${head(payloads.length === 0)}"c":[${items.join(',')}]}`);
      if (payloads.length >= MAX_PAYLOADS) return reset;
      items = [];
      bytes = Buffer.byteLength(head(false)) + 8;
    }
    items.push(item);
    bytes += size;
  }
  if (items.length > 0 || payloads.length === 0) payloads.push(`${head(payloads.length === 0)}"c":[${items.join(',')}]}`);
  return payloads;
}

/** The JSON of the numbers in {@link encodeChanges}' `s`, longest first allowed: past it, `[]`. */
const MAX_SEQS_BYTES = 2000;

/**
 * `seqs` as JSON, sorted, runs of consecutive numbers as `[first, last]`: `[5,[7,9],12]`. When
 * that is longer than {@link MAX_SEQS_BYTES} it is `[]`: the listeners then find those numbers
 * unheard at their next poll and reset, which is safe, only less precise.
 */
export function encodeSeqs(seqs: readonly number[]): string {
  const sorted = [...new Set(seqs)].filter((seq) => seq > 0).sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let last = i;
    while (last + 1 < sorted.length && sorted[last + 1] === sorted[last]! + 1) last++;
    parts.push(last === i ? String(sorted[i]) : `[${sorted[i]},${sorted[last]}]`);
    i = last;
  }
  const json = `[${parts.join(',')}]`;
  return json.length > MAX_SEQS_BYTES ? '[]' : json;
}

/** The numbers of a payload's `s`: a list as {@link encodeSeqs} writes it, or one number (cuttle before 0.1's seq lists). */
function decodeSeqs(s: unknown): number[] | undefined {
  if (typeof s === 'number') return [s];
  if (!Array.isArray(s)) return undefined;
  const seqs: number[] = [];
  for (const part of s) {
    if (typeof part === 'number') seqs.push(part);
    else if (Array.isArray(part) && typeof part[0] === 'number' && typeof part[1] === 'number' && part[1] - part[0] <= 1_000_000) {
      for (let seq = part[0]; seq <= part[1]; seq++) seqs.push(seq);
    } else return undefined;
  }
  return seqs;
}

/** A payload read back: who sent it, the sequence numbers its writes took, and the changes or a reset. */
export function decodePayload(payload: string): { origin: string; seqs: number[]; changes: BackendChange[] } | undefined {
  try {
    const { o, s, c, r } = JSON.parse(payload) as { o: unknown; s: unknown; c?: unknown; r?: unknown };
    const seqs = decodeSeqs(s);
    if (typeof o !== 'string' || seqs === undefined) return undefined;
    if (r === 1) return { origin: o, seqs, changes: [{ reset: true }] };
    if (!Array.isArray(c)) return undefined;
    const changes: BackendChange[] = [];
    for (const item of c) {
      if (!Array.isArray(item) || typeof item[0] !== 'string' || typeof item[1] !== 'string' || typeof item[2] !== 'number') return undefined;
      changes.push({ type: item[0], id: item[1], version: item[2], deleted: item[3] === 1 });
    }
    return { origin: o, seqs, changes };
  } catch {
    return undefined;
  }
}

/**
 * Sends a backend's announcements after their commit, gathering those that arrive while one is
 * being sent into the next (16 saves in flight cost a few NOTIFY round trips, not 16).
 *
 * Not inside the writing transaction, by measurement: PostgreSQL serializes the commits of
 * transactions that notify on one database-wide lock held across the WAL flush, which here cut 16
 * concurrent saves from ~1,700/s to ~300-470/s. A notification sent after the commit costs a round
 * trip without a flush. Should it be lost (the process dies in between, the send fails), the
 * change sequence moved anyway and the listeners' poll turns it into a reset.
 */
export class Notifier {
  readonly #send: (payloads: string[]) => Promise<unknown>;
  readonly #origin: string;
  #changes: AnnouncedChange[] = [];
  #reset = false;
  #seqs: number[] = [];
  /** The send that will carry what is gathered now; it starts once {@link #running} ends. */
  #next: Promise<void> | undefined;
  #running: Promise<void> | undefined;

  constructor(origin: string, send: (payloads: string[]) => Promise<unknown>) {
    this.#origin = origin;
    this.#send = send;
  }

  /**
   * Announces `changes` (or a reset), whose writes took the sequence numbers `seqs`. No changes
   * with some numbers: numbers taken by writes that were rolled back, so that listeners do not wait
   * for them. Never rejects: a failed send is the poll's to catch.
   */
  announce(changes: readonly AnnouncedChange[] | 'reset', seqs: readonly number[]): Promise<void> {
    if (changes === 'reset') this.#reset = true;
    else for (const change of changes) this.#changes.push(change);
    for (const seq of seqs) this.#seqs.push(seq);
    return (this.#next ??= this.#after(this.#running));
  }

  /** Resolves once everything announced so far has been sent (or failed to be). */
  async drain(): Promise<void> {
    await this.#next;
    await this.#running;
  }

  async #after(previous: Promise<void> | undefined): Promise<void> {
    await previous;
    this.#next = undefined;
    const payloads = encodeChanges(this.#origin, this.#seqs, this.#reset ? 'reset' : this.#changes);
    this.#changes = [];
    this.#seqs = [];
    this.#reset = false;
    const running = this.#send(payloads).then(
      () => {},
      () => {},
    );
    this.#running = running;
    await running;
  }
}

/** What {@link ChangeFeed} needs from its backend. */
export interface ChangeFeedOptions {
  /** The channel to LISTEN on. */
  readonly channel: string;
  /** This backend object's origin: its own announcements are not reported. */
  readonly origin: string;
  /** A new, unconnected client for the listening connection. */
  readonly client: () => Client;
  /** Makes sure the table and its sequence exist. */
  readonly ready: () => Promise<unknown>;
  /** The statement reading the change sequence's last value. */
  readonly lastChange: string;
  /** Milliseconds between heartbeats and sequence checks. */
  readonly pollInterval: number;
}

const BACKOFF_FIRST = 100;
const BACKOFF_MAX = 5000;

/**
 * One listening connection, opened when the first listener subscribes and closed when the last one
 * leaves. Each (re)connect delivers a reset once LISTEN is in place (whatever was committed before
 * is covered by it, whatever after is notified); a listener joining a feed that already listens
 * hears its own first reset at once. A failed connection is replaced with backoff
 * (100 ms doubling to 5 s, jittered).
 */
export class ChangeFeed {
  readonly #options: ChangeFeedOptions;
  readonly #listeners = new Set<ChangeListener>();
  #client: Client | undefined;
  #state: FeedStatus['state'] = 'idle';
  #connects = 0;
  #missed = 0;
  #lastError: Error | undefined;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** Sequence numbers above {@link #floor} heard in notifications or taken by this backend's own writes. */
  readonly #heard = new Set<number>();
  /** Every sequence number up to this one is accounted for: heard, or covered by a reset. */
  #floor = 0;
  /** The sequence's value at the previous poll: each number up to it that this poll finds unheard was missed. */
  #polled: number | undefined;
  #beating = false;

  constructor(options: ChangeFeedOptions) {
    this.#options = options;
  }

  get status(): FeedStatus {
    return Object.freeze({ state: this.#state, connects: this.#connects, missed: this.#missed, lastError: this.#lastError });
  }

  subscribe(listener: ChangeListener): () => void {
    if (this.#state === 'closed') throw new Error('the change feed is closed');
    // A function subscribed twice is two subscriptions, as with addEventListener's wrapper objects.
    const entry: ChangeListener = (changes) => listener(changes);
    this.#listeners.add(entry);
    // A listener joining a feed that already listens misses nothing from now on: no reset for it.
    // One that joins before the connection listens hears the reset the connection brings.
    if (this.#state === 'idle') this.#connect();
    return () => {
      if (!this.#listeners.delete(entry) || this.#listeners.size > 0 || this.#state === 'closed') return;
      this.#stop('idle');
    };
  }

  /** Counts a sequence number taken by this backend's own write (or announced by another) as heard. */
  heard(seq: number): void {
    if (seq > this.#floor) this.#heard.add(seq);
  }

  /**
   * Resolves once every notification sent before the call has reached the listeners: PostgreSQL
   * delivers a session's pending notifications before the answer to its next query, so this is
   * one round trip on the listening connection. At once when the feed does not listen.
   */
  async catchUp(): Promise<void> {
    const client = this.#client;
    if (client === undefined || this.#state !== 'listening') return;
    try {
      await client.query('SELECT 1');
    } catch {
      // The connection failed: #lost replaces it, and its reconnect delivers a reset.
    }
  }

  /** Closes the listening connection for good. */
  async close(): Promise<void> {
    const client = this.#client;
    this.#stop('closed');
    this.#listeners.clear();
    if (client) await endQuietly(client);
  }

  #connect(): void {
    this.#state = 'connecting';
    const client = this.#options.client();
    this.#client = client;
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the listening connection ended')));
    client.on('notification', (message) => this.#receive(client, message));
    void (async () => {
      try {
        await this.#options.ready();
        // Closed (or replaced) while waiting: never open the connection it no longer wants.
        if (this.#client !== client) return;
        await client.connect();
        await client.query(`LISTEN "${this.#options.channel}"`);
        const last = await this.#lastChange(client);
        // Closed while connecting: this connection was made after close() ended it, so end it here.
        if (this.#client !== client) return void endQuietly(client);
        // The reset below covers everything committed so far.
        this.#cover(last);
        this.#polled = undefined;
        this.#state = 'listening';
        this.#connects++;
        this.#attempt = 0;
        this.#timer = setInterval(() => this.#poll(client), this.#options.pollInterval).unref();
        this.#deliver([{ reset: true }]);
      } catch (error) {
        this.#lost(client, error as Error);
      }
    })();
  }

  /** The connection failed (or stopped answering): replace it, after a backoff. */
  #lost(client: Client, error: Error): void {
    if (this.#client !== client) return;
    this.#lastError = error;
    this.#stop('waiting');
    const delay = Math.min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** this.#attempt++);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (this.#state === 'waiting') this.#connect();
    }, delay * (0.5 + Math.random() / 2));
    this.#retry.unref();
  }

  #stop(state: 'idle' | 'waiting' | 'closed'): void {
    this.#state = state;
    clearInterval(this.#timer);
    clearTimeout(this.#retry);
    this.#timer = this.#retry = undefined;
    this.#beating = false;
    const client = this.#client;
    this.#client = undefined;
    if (client && state !== 'closed') void endQuietly(client);
  }

  #poll(client: Client): void {
    if (this.#client !== client || this.#state !== 'listening') return;
    if (this.#beating) return this.#lost(client, new Error(`the listening connection did not answer within ${this.#options.pollInterval} ms`));
    this.#beating = true;
    this.#lastChange(client).then(
      (last) => {
        if (this.#client !== client) return;
        this.#beating = false;
        const polled = this.#polled;
        this.#polled = last;
        // A number taken before the previous poll has had a whole interval for its notification.
        if (polled !== undefined && !this.#cover(polled)) {
          this.#missed++;
          this.#deliver([{ reset: true }]);
        }
      },
      (error: Error) => this.#lost(client, error),
    );
  }

  /**
   * Moves {@link #floor} up to `upTo`. @returns whether every number passed over was heard. A
   * number may also be missing because its write was rolled back without saying so (a connection
   * lost in COMMIT): that costs a reset, never a stale read.
   */
  #cover(upTo: number): boolean {
    if (upTo <= this.#floor) return true;
    let all = true;
    if (upTo - this.#floor > this.#heard.size) {
      // More numbers than were heard at all: some were missed. Only the heard ones need dropping.
      all = false;
      for (const seq of this.#heard) if (seq <= upTo) this.#heard.delete(seq);
    } else {
      for (let seq = this.#floor + 1; seq <= upTo; seq++) if (!this.#heard.delete(seq)) all = false;
    }
    this.#floor = upTo;
    return all;
  }

  async #lastChange(client: Client): Promise<number> {
    const { rows } = await client.query({ text: this.#options.lastChange, rowMode: 'array' });
    return (rows[0] as [number])[0];
  }

  #receive(client: Client, message: Notification): void {
    if (this.#client !== client || message.channel !== this.#options.channel || message.payload === undefined) return;
    const decoded = decodePayload(message.payload);
    if (!decoded) return;
    for (const seq of decoded.seqs) this.heard(seq);
    if (decoded.origin !== this.#options.origin && decoded.changes.length > 0) this.#deliver(decoded.changes);
  }

  #deliver(changes: readonly BackendChange[]): void {
    for (const listener of [...this.#listeners]) this.#call(listener, changes);
  }

  #call(listener: ChangeListener, changes: readonly BackendChange[]): void {
    try {
      listener(changes);
    } catch (error) {
      process.emitWarning(`cuttle: a change listener threw, and was kept: ${(error as Error)?.stack ?? String(error)}`, 'CuttleWarning');
    }
  }
}

/** Ends `client` without waiting on a connection that may be dead: its socket is destroyed after a second. */
async function endQuietly(client: Client): Promise<void> {
  client.removeAllListeners('notification');
  client.removeAllListeners('end');
  client.removeAllListeners('error');
  client.on('error', () => {});
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  const timer = setTimeout(() => stream?.destroy(), 1000);
  timer.unref();
  try {
    await client.end();
  } catch {
    // Already ended or broken: nothing left to release.
  } finally {
    clearTimeout(timer);
  }
}
