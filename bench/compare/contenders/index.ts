// Every contender of the comparison, in table order: cuttle, the raw ceilings, the peers.
import type { Contender, Family } from '../contender.js';
import { cuttleFile, cuttleFileFast, cuttleFileRam, cuttleMemory, cuttleSqlite, cuttleSqliteNoCache, cuttleSqliteRam } from './cuttle.js';
import { keyv } from './keyv.js';
import { lowdb } from './lowdb.js';
import { map } from './map.js';
import { nedb } from './nedb.js';
import { rawFiles, rawFilesDurable } from './raw-files.js';
import { rawSqlite } from './raw-sqlite.js';
import { unstorageFs, unstorageMemory, unstorageMemorySuperjson } from './unstorage.js';

export const CONTENDERS: readonly Contender[] = [
  cuttleMemory,
  cuttleSqlite,
  cuttleSqliteRam,
  cuttleSqliteNoCache,
  cuttleFile,
  cuttleFileFast,
  cuttleFileRam,
  map,
  rawSqlite,
  rawFilesDurable,
  rawFiles,
  keyv,
  lowdb,
  nedb,
  unstorageFs,
  unstorageMemory,
  unstorageMemorySuperjson,
];

/** The raw ceiling of each family: the `key` every ratio is taken against. */
export const CEILINGS: Record<Family, string> = {
  memory: map.key,
  sqlite: rawSqlite.key,
  'files-durable': rawFilesDurable.key,
  files: rawFiles.key,
};

export function contender(key: string): Contender {
  const found = CONTENDERS.find((c) => c.key === key);
  if (!found) throw new Error(`no contender "${key}"; there are: ${CONTENDERS.map((c) => c.key).join(', ')}`);
  return found;
}
