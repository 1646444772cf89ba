// A test double for a backend behind a network: an in-memory backend whose every call costs
// `latencyMs` (one round trip) and is counted. Its loadMany is one call, as on SQLite or
// PostgreSQL; `roundTripsPerId` makes loadMany one call per id instead, as a backend without it.
import { setTimeout as sleep } from 'node:timers/promises';
import { InMemoryBackend, type StoredRecord } from '../dist/index.js';

export class SlowBackend extends InMemoryBackend {
  /** Calls that reached the backend, by method. */
  readonly calls = new Map<string, number>();
  readonly #latency: number;
  readonly #perId: boolean;

  constructor(options: { latencyMs: number; roundTripsPerId?: boolean }) {
    super();
    this.#latency = options.latencyMs;
    this.#perId = options.roundTripsPerId ?? false;
  }

  /** Every call counted, once. */
  get total(): number {
    let total = 0;
    for (const count of this.calls.values()) total += count;
    return total;
  }

  async #roundTrip(method: string): Promise<void> {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
    await sleep(this.#latency);
  }

  override async load(type: string, id: string): Promise<StoredRecord | undefined> {
    await this.#roundTrip('load');
    return super.load(type, id);
  }

  override async loadMany(type: string, ids: readonly string[]): Promise<Array<StoredRecord | undefined>> {
    if (this.#perId) return Promise.all(ids.map((id) => this.load(type, id)));
    await this.#roundTrip('loadMany');
    return Promise.all(ids.map((id) => super.load(type, id)));
  }
}
