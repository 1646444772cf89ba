// The CLI's progress reporter, with a fake clock, a fake timer and a fake stderr.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { countOf, Progress } from '../src/progress.js';

/** A stand-in for process.stderr that keeps what is written. */
function fakeOut(isTTY: boolean) {
  const lines: string[] = [];
  return { out: { isTTY, write: (text: string) => lines.push(text) } as unknown as NodeJS.WriteStream, lines };
}

/** A timer the test fires by hand; `stopped` says whether the reporter cleared it. */
function fakeTimer() {
  const timer = { tick: () => {}, ms: 0, stopped: false, started: false };
  const schedule = (tick: () => void, ms: number) => {
    Object.assign(timer, { tick, ms, started: true });
    return { stop: () => void (timer.stopped = true) };
  };
  return { timer, schedule };
}

/** A reporter writing to a fake stderr, on a fake timer and a clock the test sets (`at(ms)`). */
function reporter(verb: string, isTTY: boolean, start = 0) {
  const { out, lines } = fakeOut(isTTY);
  const { timer, schedule } = fakeTimer();
  let now = start;
  const progress = new Progress(verb, { quiet: false, out, now: () => now, schedule });
  return { progress, lines, timer, at: (ms: number) => void (now = ms) };
}

const test = suite('progress');

test('without a terminal, a line every 5 s even while nothing moves (bug: one line, then nothing for 49 s)', () => {
  const { progress, lines, timer, at } = reporter('migrated', false);
  assert.is(timer.ms, 5000);
  progress.update({ done: 100, total: 1000 });
  at(5000);
  timer.tick();
  at(10_000);
  timer.tick(); // nothing moved since the last tick: the line still comes
  progress.update({ done: 400, total: 1000 });
  at(15_000);
  timer.tick();
  assert.equal(lines, ['migrated 10% 100/1,000 objects, 20/s\n', 'migrated 10% 100/1,000 objects, 10/s\n', 'migrated 40% 400/1,000 objects, 27/s\n']);
  progress.finish();
  assert.ok(timer.stopped, 'finish stops the timer');
  assert.is(lines.at(-1), 'migrated 400 objects in 15.0 s\n');
});

test('on a terminal, the bar is redrawn by updates and by the timer', () => {
  const { progress, lines, timer, at } = reporter('imported', true, 1000);
  assert.is(timer.ms, 1000);
  at(2000);
  progress.update({ done: 5, total: 10 });
  assert.match(lines.at(-1)!, /^\rimported \[#{15}-{15}\] 50% 5\/10 objects, 5\/s\u001b\[K$/);
  at(3000);
  timer.tick();
  assert.match(lines.at(-1)!, /^\rimported \[#{15}-{15}\] 50% 5\/10 objects, 3\/s\u001b\[K$/);
});

test('quiet: nothing is written and no timer runs', () => {
  const { out, lines } = fakeOut(false);
  const { timer, schedule } = fakeTimer();
  const progress = new Progress('exported', { quiet: true, out, schedule });
  progress.update({ done: 1 });
  progress.finish();
  assert.equal(lines, []);
  assert.not.ok(timer.started);
});

test('counts: one object, 2 objects (bug: "1 objects")', () => {
  assert.is(countOf(1, 'object'), '1 object');
  assert.is(countOf(0, 'object'), '0 objects');
  assert.is(countOf(12_345, 'argument'), '12,345 arguments');
  const { progress, lines } = reporter('exported', false);
  progress.update({ done: 1, total: 1 });
  progress.finish();
  assert.is(lines.at(-1), 'exported 1 object in 0.0 s\n');
});

test.run();
