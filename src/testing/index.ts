/**
 * `cuttle/testing`: the conformance suite every cuttle backend passes, for the authors of new
 * backends. It runs on uvu (an optional peer dependency: `npm install --save-dev uvu`). A backend's
 * spec file is three lines:
 *
 *     import { backendSuite } from 'cuttle/testing';
 *     import { MyBackend } from '../src/my-backend.js';
 *     backendSuite('mine', () => new MyBackend(), { atomicBatches: false });
 *
 * Run it with `node --import tsx node_modules/uvu/bin.js spec` (or any uvu runner). See
 * docs/guide.md, "Writing a backend", for what each section checks.
 * @module
 */
export { AWKWARD_IDS, backendSuite, type BackendSuiteOptions } from './conformance.js';
export { rejects } from './assert.js';
