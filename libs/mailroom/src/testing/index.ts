// @mailroom/core/testing: helpers for an app's own tests against a real PostgreSQL.
export { createTestDatabase, waitUntilDrained } from './testing';
export type { TestDatabase, TestDatabaseOptions, WaitOptions } from './testing';
