// Plain NDJSON files for the raw ceilings' export and import: one `{"id":…,"content":…}` line per
// record, written in ~1 MB chunks and read back line by line.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { docData, docId } from './workload.js';

/** Writes the lines `records` yields to `path`. @returns how many. */
export async function writeLines(path: string, records: Iterable<string> | AsyncIterable<string>): Promise<number> {
  const handle = await open(path, 'w');
  let chunk = '';
  let count = 0;
  try {
    for await (const line of records) {
      chunk += line + '\n';
      count++;
      if (chunk.length > 1 << 20) {
        await handle.write(chunk);
        chunk = '';
      }
    }
    await handle.write(chunk);
  } finally {
    await handle.close();
  }
  return count;
}

/** The lines of `path`, without line ends. */
export function readLines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
}

/** One dump line of the raw format. */
export function rawLine(id: string, content: string): string {
  return `{"id":${JSON.stringify(id)},"content":${content}}`;
}

/** Parses a raw dump line: its id and the JSON text of its content. */
export function parseRawLine(line: string): { id: string; content: string } {
  const { id, content } = JSON.parse(line) as { id: string; content: unknown };
  return { id, content: JSON.stringify(content) };
}

/** A raw dump of documents 0..count-1. */
export async function writeRawDump(path: string, count: number): Promise<void> {
  await writeLines(path, (function* () {
    for (let i = 0; i < count; i++) yield rawLine(docId(i), JSON.stringify(docData(i)));
  })());
}
