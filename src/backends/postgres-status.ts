/**
 * The PostgreSQL change feed's state, as `PostgresBackend.feed` reports it. A module of its own,
 * importing nothing, so the published types need neither `pg` nor the listener.
 * @module
 */

/** What `PostgresBackend.feed` reports. */
export interface FeedStatus {
  /** `idle`: nobody subscribed; `connecting`; `listening`; `waiting`: to reconnect after a failure; `closed`. */
  readonly state: 'idle' | 'connecting' | 'listening' | 'waiting' | 'closed';
  /** How many times the listening connection was (re)established. */
  readonly connects: number;
  /** How many resets the poll raised because a change went unheard. */
  readonly missed: number;
  /** The last failure of the listening connection, if any. */
  readonly lastError: Error | undefined;
}
