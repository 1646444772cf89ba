// The data set and queries of the query benches (bench/query.bench.ts on SQLite, nedb and memory;
// bench/query-postgres.bench.ts on PostgreSQL): N items of one class, the same on every run.
import { Serializable, type FindOptions } from '../dist/index.js';

/** The benches' class: a category (1,000 values), a price spread over 0..1000, a flag, tags. */
export class Item extends Serializable {
  static override typeName = 'Item';
  category = 0;
  price = 0;
  title = '';
  done = false;
  tags: string[] = [];
}

/** `n` items, the same every run (a seeded generator). */
export function makeItems(n: number): Item[] {
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  return Array.from({ length: n }, (_, i) =>
    Object.assign(new Item(`item-${String(i).padStart(6, '0')}`), {
      category: i % 1000,
      price: Math.round(random() * 100_000) / 100,
      title: `item number ${i}`,
      done: i % 3 === 0,
      tags: [`t${i % 7}`, `u${i % 11}`],
    }),
  );
}

/** The upper end of a price range holding ~100 of `n` items (prices are spread over 0..1000). */
export const rangeEnd = (n: number) => 500 + (1000 * 100) / n;

/** The queries every contender runs, by name; `count (equality)` counts the first one's results. */
export function itemQueries(n: number): Record<string, FindOptions> {
  return {
    'equality (100 of N)': { where: { category: 421 } },
    'range (~100 of N)': { where: { price: { $gte: 500, $lt: rangeEnd(n) } } },
    'sorted top-20 (done, by price)': { where: { done: true }, sort: { price: -1 }, limit: 20 },
  };
}

/** The count the benches time. */
export const COUNTED: FindOptions = { where: { category: 421 } };

/** The fields the benches index. */
export const INDEXED = ['category', 'price', 'done'] as const;
