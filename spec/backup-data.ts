// What spec/backup.spec.ts and its writer process (spec/fixtures/backup-writer.ts) share: the
// class the writer saves, and the body each sequence number must have (so a torn object shows).
import { Serializable } from '../src/index.js';

/** One acknowledged save of the writer: `seq` 1, 2, 3, ... under the id `w<seq, 8 digits>`. */
export class Written extends Serializable {
  seq = 0;
  body = '';
  when = new Date(0);
}

/** The body of save `seq`: ~3 KB that depend on it. */
export function bodyOf(seq: number): string {
  return `${seq}:`.repeat(Math.ceil(3000 / (String(seq).length + 1)));
}

/** The id of save `seq`, so ids sort in save order. */
export function idOf(seq: number): string {
  return `w${String(seq).padStart(8, '0')}`;
}

/** Save `seq` as the writer makes it. */
export function written(seq: number): Written {
  return Object.assign(new Written(idOf(seq)), { seq, body: bodyOf(seq), when: new Date(seq) });
}
