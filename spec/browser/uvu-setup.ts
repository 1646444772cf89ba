// Imported first by a browser test bundle, before uvu: uvu then queues its suites instead of
// running them on a timer (UVU_DEFER), and its output (console.log in a browser) is collected as
// Node would print it, for scripts/test-browser.mjs to read back.
const globals = globalThis as unknown as { UVU_DEFER: number; UVU_QUEUE: unknown[][]; uvuOutput: string; uvuDone: boolean };
globals.UVU_DEFER = 1;
globals.UVU_QUEUE = [['chromium']];
globals.uvuOutput = '';
globals.uvuDone = false;
const log = console.log.bind(console);
console.log = (...args: unknown[]) => {
  globals.uvuOutput += args.join(' ');
  log(...args);
};

export {};
