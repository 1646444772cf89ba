// The chart of a run as hand-written SVG: for one N, ops/s of each operation on a log scale, one
// bar per contender, grouped by operation. No chart library: a few rectangles and labels.
import type { Operation } from './contender.js';
import { cell, formatRate, op, type Results } from './report.js';

const OPS: Operation[] = ['save', 'saveMany', 'loadCold', 'loadWarm', 'exists', 'list', 'listAgain', 'delete'];
const LABELS: Record<string, string> = {
  save: 'save',
  saveMany: 'batch save (per doc)',
  loadCold: 'load, cold',
  loadWarm: 'load, warm / RAM',
  exists: 'exists',
  list: 'list ids, first (per id)',
  listAgain: 'list ids, again (per id)',
  delete: 'delete',
};
/** Contenders shown, with their colours: cuttle in blues, ceilings in greys, peers in warm colours. */
const SHOWN: Array<[string, string]> = [
  ['cuttle-sqlite', '#1f4e99'],
  ['cuttle-file-nosync', '#3f83d6'],
  ['cuttle-memory', '#8fbef0'],
  ['raw-sqlite', '#777777'],
  ['raw-files', '#b5b5b5'],
  ['keyv-sqlite', '#d1495b'],
  ['lowdb', '#edae49'],
  ['nedb', '#8f5e99'],
  ['unstorage-fs', '#2e933c'],
];

const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The SVG text of the chart of `results` at N = `n`. */
export function chart(results: Results, n: number): string {
  const shown = SHOWN.filter(([key]) => cell(results, key, n));
  const names = new Map(results.contenders.map((c) => [c.key, c.name]));
  const width = 960;
  const left = 170;
  const right = 70;
  const bar = 10;
  const gap = 2;
  const groupGap = 14;
  const legendRows = Math.ceil(shown.length / 3);
  const top = 58 + legendRows * 18;
  const groupHeight = shown.length * (bar + gap) + groupGap;
  const height = top + OPS.length * groupHeight + 40;
  const lo = 1; // 10^1
  const hi = 7; // 10^7
  const x = (rate: number) => left + ((Math.min(hi, Math.log10(Math.max(rate, 10))) - lo) / (hi - lo)) * (width - left - right);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const m = results.machine;
  parts.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">cuttle and alternatives: operations per second at N = ${n.toLocaleString('en')} (log scale, higher is better)</text>`);
  parts.push(`<text x="${left}" y="37" fill="#555">${esc(`${m.cpu}, ${m.cores} cores, Node ${m.node}; median of rounds; ~1.2 KB documents with a Date; ${results.startedAt.slice(0, 10)}`)}</text>`);
  shown.forEach(([key, colour], i) => {
    const lx = left + (i % 3) * 250;
    const ly = 52 + Math.floor(i / 3) * 18;
    parts.push(`<rect x="${lx}" y="${ly}" width="12" height="10" fill="${colour}"/><text x="${lx + 17}" y="${ly + 9}">${esc(names.get(key) ?? key)}</text>`);
  });
  for (let p = lo; p <= hi; p++) {
    const gx = x(10 ** p);
    parts.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${height - 30}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${gx}" y="${height - 16}" text-anchor="middle" fill="#555">${formatRate(10 ** p)}</text>`);
  }
  parts.push(`<text x="${width - right}" y="${height - 3}" text-anchor="end" fill="#555">operations per second (list: ids per second); – : no such operation; * : stopped at its time budget</text>`);
  OPS.forEach((name, g) => {
    const gy = top + g * groupHeight;
    parts.push(`<text x="${left - 8}" y="${gy + (shown.length * (bar + gap)) / 2 + 4}" text-anchor="end" font-weight="bold">${esc(LABELS[name]!)}</text>`);
    shown.forEach(([key, colour], i) => {
      const y = gy + i * (bar + gap);
      const found = op(results, key, n, name);
      if (!found) {
        parts.push(`<text x="${left + 4}" y="${y + bar - 1}" fill="#999">–</text>`);
        return;
      }
      const w = Math.max(1, x(found.rate) - left);
      parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${colour}"><title>${esc(`${names.get(key)}: ${Math.round(found.rate).toLocaleString('en')} /s`)}</title></rect>`);
      parts.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + bar - 1}" font-size="9" fill="#333">${formatRate(found.rate)}${found.partial ? '*' : ''}</text>`);
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
