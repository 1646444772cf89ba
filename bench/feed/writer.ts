// The writer process of bench/feed.bench.ts: saves random objects among the first `count` ids at
// `rate` saves per second for `seconds`, one save at a time (printing "ready" before the first),
// then prints how many it saved.
// Usage: writer.ts <sqlite|postgres> <path or schema> <count> <rate> <seconds>
import { Store } from '../../dist/index.js';
import { openFeedBackend, FeedNote } from './shared.js';

const [kind, where, countText, rateText, secondsText] = process.argv.slice(2);
const count = Number(countText);
const rate = Number(rateText);
const seconds = Number(secondsText);
const store = new Store({ backend: openFeedBackend(kind!, where!), cache: false });
console.log('ready');
const start = performance.now();
let saved = 0;
while (performance.now() - start < seconds * 1000) {
  const due = start + (saved * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  await store.save(Object.assign(new FeedNote(`n${Math.floor(Math.random() * count)}`), { text: `changed ${saved}` }));
  saved++;
}
await store.close();
console.log(JSON.stringify({ saved, seconds: (performance.now() - start) / 1000 }));
