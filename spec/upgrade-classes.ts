// The classes of spec/upgrade.spec.ts and its child process (spec/fixtures/upgrade-worker.ts): an
// old release's note (version 1) and the new one's (version 2: body becomes a list of lines), both
// stored as UpgradeNote (uvu runs every spec in one process, where Storage's registry is shared).
import { Serializable } from '../src/index.js';

export class OldNote extends Serializable {
  static override typeName = 'UpgradeNote';
  body = '';
}

export class Note extends Serializable {
  static override typeName = 'UpgradeNote';
  static version = 2;
  static upgrade(data: { body: string }) {
    return { lines: data.body.split('\n') };
  }
  lines: string[] = [];
}
