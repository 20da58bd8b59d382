/** The broker's access settings (see config.ts for the environment variables). */
export interface AuthOptions {
  /** MAILROOM_AUTH: `keys` (default) requires an API key; `none` runs open, for local development. */
  mode: 'keys' | 'none';
  /** MAILROOM_ADMIN_KEY: seeded as an admin key with every scope at start (≥ 32 characters). */
  adminKey?: string;
  /** MAILROOM_RATE_LIMIT: requests per second per key (and a burst of as many); 0 turns it off. */
  rateLimit: number;
}

export const AUTH_OPTIONS = Symbol('AUTH_OPTIONS');

/** Generous: a benchmark's single sends from one key are not throttled by default. */
export const DEFAULT_RATE_LIMIT = 10_000;
