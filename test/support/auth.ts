/**
 * The admin key test brokers are seeded with (MAILROOM_ADMIN_KEY): tests go through the real
 * authentication path rather than turning it off.
 */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef0123456789abcdef';

/** The Authorization header for `key` (default the test admin key). */
export function bearer(key = TEST_ADMIN_KEY): { authorization: string } {
  return { authorization: `Bearer ${key}` };
}
