// A small measuring kit shared by the benchmarks: run a function for a while, report ops/s as the
// median of several rounds together with the spread, so a noisy run is visible.
import { cpus } from 'node:os';

export const quick = process.argv.includes('--quick');

export interface Measurement {
  name: string;
  opsPerSec: number;
  /** (max - min) / median of the rounds' rates. */
  spread: number;
}

/** Calls `fn(i)` for `ops` iterations per round, `rounds` times; returns the median rate. */
export async function measure(name: string, ops: number, fn: (i: number) => unknown, rounds = quick ? 3 : 7): Promise<Measurement> {
  for (let i = 0; i < Math.min(ops, 1000); i++) await fn(i); // warm up
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) {
      const result = fn(i);
      if (result instanceof Promise) await result;
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    rates.push(ops / seconds);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  return { name, opsPerSec: median, spread: (rates.at(-1)! - rates[0]!) / median };
}

/** Prints rows with the ratio of each to `baseline` (a row name). */
export function report(title: string, rows: Measurement[], baseline?: string): void {
  const base = rows.find((row) => row.name === baseline);
  console.log(`\n${title}`);
  for (const row of rows) {
    const ratio = base ? `  ${(row.opsPerSec / base.opsPerSec).toFixed(2)}x ${baseline}` : '';
    console.log(`  ${row.name.padEnd(42)} ${rate(row.opsPerSec).padStart(12)} ops/s  ±${(row.spread * 50).toFixed(0)}%${ratio}`);
  }
}

/** A rate for a report: whole numbers, but two decimals under 10/s, where rounding would hide it. */
function rate(opsPerSec: number): string {
  return opsPerSec < 10 ? opsPerSec.toFixed(2) : Math.round(opsPerSec).toLocaleString('en');
}

/** The machine, for the record. */
export function machine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}`;
}
