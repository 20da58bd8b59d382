import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { InvalidRequestError } from '@mailroom/core';
import { ReceiptInvalidError } from './auth.errors';

interface Secret {
  id: number;
  secret: Buffer;
}

/** A library receipt (base64url), the signing secret's id, and the HMAC-SHA256 of both. */
const SIGNED = /^([A-Za-z0-9_-]{1,200})\.([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})$/;

/** How long a process signs with the secret it knows before looking for a newer one. */
const REFRESH_MS = 10_000;

/**
 * Receipts as the REST API hands them out: `<library receipt>.<secret id>.<mac>`. The
 * library's receipt names a delivery and can be built by anyone who saw a message's ids;
 * the MAC, keyed by a secret only the database holds, makes a receipt something only a
 * receive from this broker can produce. The newest secret signs; the newest two verify, so
 * a rotation leaves receipts already handed out valid until the next one.
 */
@Injectable()
export class ReceiptSigner implements OnApplicationBootstrap {
  private secrets: Secret[] = [];
  private loadedAt = 0;

  constructor(private readonly dataSource: DataSource) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      // Two brokers starting on an empty database must agree on one first secret.
      await manager.query(`SELECT pg_advisory_xact_lock(hashtext('mailroom_receipt_secret'))`);
      const [{ count }] = await manager.query(`SELECT count(*)::int AS count FROM mailroom_receipt_secret`);
      if (count === 0)
        await manager.query(`INSERT INTO mailroom_receipt_secret (secret) VALUES ($1)`, [randomBytes(32)]);
    });
    await this.load();
  }

  async sign(receipt: string): Promise<string> {
    if (Date.now() - this.loadedAt > REFRESH_MS) await this.load();
    const [newest] = this.secrets;
    return `${receipt}.${newest.id}.${mac(newest.secret, receipt)}`;
  }

  /**
   * The library receipts inside `signed`, in order. Malformed: 400 naming the field;
   * well-formed but not this broker's signature: 409, so nothing is settled either way.
   */
  async verify(signed: string[], field: string): Promise<string[]> {
    const parsed = signed.map((receipt, i) => {
      const match = SIGNED.exec(receipt);
      if (!match) throw new InvalidRequestError(`${field}[${i}]`, 'is not a receipt from receive');
      return { receipt: match[1], secretId: Number(match[2]), mac: match[3] };
    });
    if (parsed.some(({ secretId }) => !this.secrets.some((s) => s.id === secretId))) await this.load();
    const forged = parsed.filter(({ receipt, secretId, mac: given }) => {
      const secret = this.secrets.find((s) => s.id === secretId);
      return !secret || !sameMac(mac(secret.secret, receipt), given);
    });
    if (forged.length > 0) throw new ReceiptInvalidError(forged.map((f) => `${f.receipt}.${f.secretId}.${f.mac}`));
    return parsed.map((p) => p.receipt);
  }

  /** A new signing secret; the one before keeps verifying, older ones stop. */
  async rotate(): Promise<{ secretId: number }> {
    const [{ id }] = await this.dataSource.query(
      `INSERT INTO mailroom_receipt_secret (secret) VALUES ($1) RETURNING id`,
      [randomBytes(32)],
    );
    await this.load();
    return { secretId: id };
  }

  private async load(): Promise<void> {
    this.secrets = await this.dataSource.query(
      `SELECT id, secret FROM mailroom_receipt_secret ORDER BY id DESC LIMIT 2`,
    );
    this.loadedAt = Date.now();
  }
}

function mac(secret: Buffer, receipt: string): string {
  return createHmac('sha256', secret).update(receipt).digest('base64url');
}

function sameMac(expected: string, given: string): boolean {
  return timingSafeEqual(Buffer.from(expected), Buffer.from(given));
}
