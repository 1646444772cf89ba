/**
 * `cuttle/postgres`: the PostgreSQL backend. Needs the `pg` package (`npm install pg`), which
 * cuttle itself does not install; importing this module does not load it, making a backend does.
 *
 *     import { PostgresBackend } from 'cuttle/postgres';
 *     Storage.use(new PostgresBackend({ connectionString: process.env.DATABASE_URL }));
 * @module
 */
export { PostgresBackend, type PostgresBackendOptions, type PostgresPool, type FeedStatus, type PostgresIsolation } from './backends/postgres.js';
