/**
 * The SQLite backend's change feed: a `changes` table, written in the same transaction as every
 * change of `objects`, that the other connections on the file (other processes, other backend
 * objects) read when `PRAGMA data_version` says someone else committed.
 *
 * Rows are written by TEMP triggers that each writing connection creates for itself at open, so a
 * save stays one statement (no extra round trip from JavaScript) and each row carries the writer's
 * origin, which lets a reader skip its own. Bulk changes (`clear`, imports) log one reset row
 * instead of a row per object: they run with the triggers dropped, inside their transaction.
 *
 * `seq` is the rowid: one more per change, never reused, because pruning (by count and by age)
 * always keeps the newest row. A reader remembers the last `seq` it read; when rows it had not read
 * were pruned (the oldest row left is past its position) it gets a reset, never a silent gap.
 *
 * A connection with `changeLog: false` writes no rows (and no resets for bulk changes). Another
 * connection that sees data_version move without a new row takes it for such a commit and resets:
 * never stale, only less precise. So that pruning is not taken for one, a prune commits a
 * marker row with it.
 * @module
 */
import type Database from 'better-sqlite3';
import type { BackendChange } from './backend.js';

/** The migration step that adds the table (schema version 2). */
export function createChangesTable(db: Database.Database): void {
  db.exec(`CREATE TABLE changes (
    seq     INTEGER PRIMARY KEY,
    origin  TEXT    NOT NULL,
    type    TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    version INTEGER NOT NULL,
    op      INTEGER NOT NULL CHECK (op IN (0, 1, 2, 3)),
    at      INTEGER NOT NULL
  ) STRICT`);
}

/** `op`: a save (the new version), a delete (the last version), a reset (anything may have changed). */
const SAVE = 0;
const DELETE = 1;
/** A row that changes nothing: it marks a commit of the log itself (a prune), so readers do not take it for an unlogged change. */
const MARK = 3;
const RESET = 2;

/** Options of the change log, from the backend's. */
export interface ChangeLogOptions {
  /**
   * Whether this connection logs its own changes (the backend's `changeLog`). One that does not
   * still reads others' rows; its own commits reach others as a reset (they find no row for them).
   */
  readonly logged: boolean;
  /** Rows kept at least (the newest); older ones are pruned. */
  readonly keepRows: number;
  /** Milliseconds a row is kept at least; 0: prune by count alone. */
  readonly keepMs: number;
  readonly now: () => number;
}

/** How many own writes between two prunes. */
const PRUNE_EVERY = 1000;

const NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

/** One connection's side of the change log: its triggers, its prunes, and its reading position. */
export class SqliteChangeLog {
  readonly #db: Database.Database;
  readonly #origin: string;
  readonly #options: ChangeLogOptions;
  readonly #read: Database.Statement;
  readonly #oldest: Database.Statement;
  readonly #newest: Database.Statement;
  readonly #reset: Database.Statement;
  readonly #prune: Database.Statement;
  readonly #mark: Database.Statement;
  /** Whether this connection has triggers (it writes, and logs). */
  readonly #logging: boolean;
  /** The last seq this connection read (or wrote, for its own rows). */
  #position: number;
  #sincePrune = 0;

  /**
   * @param writable whether this connection writes (and so needs triggers); a read-only one only reads.
   */
  constructor(db: Database.Database, origin: string, writable: boolean, options: ChangeLogOptions) {
    this.#db = db;
    this.#origin = origin;
    this.#options = options;
    this.#read = db.prepare('SELECT seq, origin, type, id, version, op FROM changes WHERE seq > ? ORDER BY seq').raw();
    this.#oldest = db.prepare('SELECT min(seq) FROM changes').pluck();
    this.#newest = db.prepare('SELECT max(seq) FROM changes').pluck();
    this.#reset = db.prepare(`INSERT INTO changes (origin, type, id, version, op, at) VALUES (?, '', '', 0, ${RESET}, ?)`);
    // The newest row always stays, so seq never goes back.
    this.#prune = db.prepare(
      `DELETE FROM changes WHERE seq < (SELECT max(seq) FROM changes) AND (seq <= (SELECT max(seq) FROM changes) - ? OR at < ?)`,
    );
    this.#mark = db.prepare(`INSERT INTO changes (origin, type, id, version, op, at) VALUES (?, '', '', 0, ${MARK}, ?)`);
    this.#logging = writable && options.logged;
    try {
      this.#position = (this.#newest.get() as number | null) ?? 0;
    } catch {
      // A damaged file: reading the log fails again at every look, and each one is a reset.
      this.#position = 0;
    }
    if (this.#logging) this.#createTriggers();
  }

  /**
   * Runs `bulk` (a change of many objects, inside the caller's transaction) with the per-row
   * triggers dropped, and logs one reset for it instead. A rollback of the transaction brings the
   * triggers back with everything else; they are made again after a commit.
   */
  quietly<T>(bulk: () => T): T {
    this.quiet();
    const result = bulk();
    this.loud();
    return result;
  }

  /** Drops the per-row triggers, inside a transaction (for a bulk change that awaits: an import). */
  quiet(): void {
    if (!this.#logging) return;
    this.#db.exec('DROP TRIGGER IF EXISTS temp.cuttle_log_insert; DROP TRIGGER IF EXISTS temp.cuttle_log_update; DROP TRIGGER IF EXISTS temp.cuttle_log_delete');
  }

  /** Logs one reset for the bulk change since {@link quiet} and makes the triggers again. */
  loud(): void {
    if (!this.#logging) return;
    this.#reset.run(this.#origin, this.#options.now());
    this.#createTriggers();
  }

  /** Counts an own write; every {@link PRUNE_EVERY} of them, prunes the log. */
  wrote(count = 1): void {
    if (!this.#logging) return;
    this.#sincePrune += count;
    if (this.#sincePrune < PRUNE_EVERY) return;
    this.#sincePrune = 0;
    this.prune();
  }

  /** Deletes the rows past `keepRows` and those older than `keepMs` (never the newest). */
  prune(): void {
    const { keepRows, keepMs, now } = this.#options;
    // With a row of its own, so that readers see a logged commit, not an unlogged change.
    this.#db.transaction(() => {
      this.#prune.run(keepRows, keepMs > 0 ? now() - keepMs : -1);
      this.#mark.run(this.#origin, now());
    })();
  }

  /**
   * What others logged since the last call, in commit order, without this connection's own rows;
   * a single reset when rows this connection had not read were pruned meanwhile, or when there is
   * no new row at all. Call it only when someone else committed (data_version moved).
   */
  read(): BackendChange[] {
    const rows = this.#read.all(this.#position) as Array<[number, string, string, string, number, number]>;
    if (rows.length === 0) {
      // Someone else committed (the caller saw data_version move) and logged nothing: a
      // connection with changeLog off, or one that changed the file otherwise. Anything may have changed.
      const newest = (this.#newest.get() as number | null) ?? 0;
      this.#position = Math.min(this.#position, newest);
      return [{ reset: true }];
    }
    const gap = rows[0]![0] > this.#position + 1 && (this.#oldest.get() as number) > this.#position + 1;
    this.#position = rows.at(-1)![0];
    if (gap) return [{ reset: true }];
    const changes: BackendChange[] = [];
    for (const [, origin, type, id, version, op] of rows) {
      if (origin === this.#origin) continue;
      if (op === MARK) continue;
      if (op === RESET) changes.push({ reset: true });
      else changes.push({ type, id, version, deleted: op === DELETE });
    }
    return changes;
  }

  #createTriggers(): void {
    // The origin is a hex string of this backend's own making: safe inside the SQL text.
    const row = (version: string, op: number, at: string) =>
      `INSERT INTO main.changes (origin, type, id, version, op, at) VALUES ('${this.#origin}', ${op === DELETE ? 'old' : 'new'}.type, ${op === DELETE ? 'old' : 'new'}.id, ${version}, ${op}, ${at});`;
    this.#db.exec(`
      CREATE TEMP TRIGGER IF NOT EXISTS cuttle_log_insert AFTER INSERT ON main.objects BEGIN ${row('new.version', SAVE, 'new.updated_at')} END;
      CREATE TEMP TRIGGER IF NOT EXISTS cuttle_log_update AFTER UPDATE ON main.objects BEGIN ${row('new.version', SAVE, 'new.updated_at')} END;
      CREATE TEMP TRIGGER IF NOT EXISTS cuttle_log_delete AFTER DELETE ON main.objects BEGIN ${row('old.version', DELETE, NOW_MS)} END;`);
  }
}
