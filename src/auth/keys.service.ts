import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { InvalidRequestError } from '@mailroom/core';
import { AUTH_OPTIONS, type AuthOptions } from './auth.options';
import { UnauthorizedError } from './auth.errors';
import { KeyStore, type NewKey, type StoredKey } from './key-store';
import { ALL_SCOPES, parseScopes } from './scopes';

/** scrypt looked up at each call (not bound once), so a test can count the calls. */
function scryptAsync(password: string, salt: Buffer, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** Who a request is: the key's id and name (never the key) and what it may do. */
export interface Principal {
  id: string;
  name: string;
  scopes: string[];
}

/** A key as the admin API shows it: no hash, no key. */
export type KeyInfo = Omit<StoredKey, 'hash'>;

/** Bounds the verification cache; past it the cache starts over (a slow hash per key, once). */
const CACHE_LIMIT = 10_000;

/**
 * API keys. A key is found by its id, a prefix of its SHA-256, and checked against its scrypt
 * hash; scrypt costs tens of milliseconds, so a verified key is remembered (by its SHA-256,
 * with the hash it matched). The row itself is read on every request, by primary key: a
 * revocation committed by any broker process stops the key at its very next request.
 */
@Injectable()
export class KeysService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Auth');
  private readonly verified = new Map<string, string>();
  /** Verifications running now, by the key's SHA-256 and the hash: requests with one key share one. */
  private readonly verifying = new Map<string, Promise<boolean>>();

  constructor(
    private readonly store: KeyStore,
    @Inject(AUTH_OPTIONS) private readonly options: AuthOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.mode === 'none') {
      this.logger.warn(
        'MAILROOM_AUTH=none: NO AUTHENTICATION. Anyone who can reach this port can read, send, purge and ' +
          'delete everything. Use only for local development.',
      );
      return;
    }
    if (this.options.adminKey !== undefined) {
      const seeded = await this.store.insert(
        await hashed(this.options.adminKey, 'admin (MAILROOM_ADMIN_KEY)', ALL_SCOPES),
      );
      if (!seeded && (await this.store.find(keyId(this.options.adminKey)))?.revokedAt) {
        this.logger.warn('MAILROOM_ADMIN_KEY names a revoked key: it stays revoked.');
      }
      return;
    }
    let first: string | undefined;
    await this.store.whenEmpty(async () => {
      first = newKey();
      return hashed(first, 'admin (first start)', ALL_SCOPES);
    });
    // The one time this key is ever shown: only its hash is stored.
    if (first) this.logger.warn(`No API key was stored: created an admin key, shown only now: ${first}`);
  }

  /** The principal of a presented key, or UnauthorizedError (the same for unknown, wrong and revoked). */
  async authenticate(presented: string): Promise<Principal> {
    const digest = sha256(presented);
    const row = await this.store.find(digest.slice(0, ID_LENGTH));
    if (!row || row.revokedAt) throw new UnauthorizedError('Unknown or revoked API key.');
    if (this.verified.get(digest) !== row.hash && !(await this.verify(presented, digest, row.hash))) {
      throw new UnauthorizedError('Unknown or revoked API key.');
    }
    return { id: row.id, name: row.name, scopes: row.scopes };
  }

  /**
   * Checks `presented` against its scrypt `hash` once, however many requests bring it at the
   * same time (after a restart, every client's first requests arrive together: each running
   * its own scrypt, ten took ~3.5 × as long as one and held the libuv pool).
   */
  private verify(presented: string, digest: string, hash: string): Promise<boolean> {
    const id = `${digest}:${hash}`;
    let running = this.verifying.get(id);
    if (!running) {
      running = matches(presented, hash)
        .then((ok) => {
          if (ok) {
            if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
            this.verified.set(digest, hash);
          }
          return ok;
        })
        .finally(() => this.verifying.delete(id));
      this.verifying.set(id, running);
    }
    return running;
  }

  /** A new key: the answer is the only place the key ever appears. */
  async create(name: unknown, scopes: unknown): Promise<KeyInfo & { key: string }> {
    if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
      throw new InvalidRequestError('name', 'must be a non-empty string of at most 200 characters');
    }
    const key = newKey();
    const row = await hashed(key, name, parseScopes(scopes));
    await this.store.insert(row);
    const { hash: _hash, ...info } = (await this.store.find(row.id))!;
    return { ...info, key };
  }

  async list(): Promise<KeyInfo[]> {
    return (await this.store.list()).map(({ hash: _hash, ...info }) => info);
  }

  /** False when there is no live key of that id. */
  revoke(id: string): Promise<boolean> {
    return this.store.revoke(id);
  }
}

const ID_LENGTH = 16;

/** 256 random bits; the prefix says what it is when found in a file or a log. */
function newKey(): string {
  return `mrk_${randomBytes(32).toString('base64url')}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The id of any key, generated or seeded: a key is at least 32 characters, so the prefix reveals nothing. */
export function keyId(key: string): string {
  return sha256(key).slice(0, ID_LENGTH);
}

async function hashed(key: string, name: string, scopes: string[]): Promise<NewKey> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(key, salt, 32);
  return { id: keyId(key), name, scopes, hash: `scrypt$${salt.toString('base64')}$${hash.toString('base64')}` };
}

async function matches(key: string, stored: string): Promise<boolean> {
  const [, salt, hash] = stored.split('$');
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(key, Buffer.from(salt, 'base64'), expected.length);
  return timingSafeEqual(actual, expected);
}
