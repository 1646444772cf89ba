// The Keyv adapter under @keyv/test-suite, which is written for vitest (scripts/test-keyv.mjs runs
// it). Its own folder, so uvu's run of spec/ never loads these files.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.test.ts'],
    // One file at a time: the machine's cores are shared, and the PostgreSQL file holds a server schema.
    fileParallelism: false,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
