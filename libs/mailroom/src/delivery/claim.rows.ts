import type { ReceivedMessage } from '../message/message';
import { encodeReceipt } from './receipt';

/** A row of a claim statement's answer (claim.sql.ts). */
export interface ClaimRow {
  /** ACK_AND_CLAIM: whether every receipt to ack was live (and so acked). */
  acked?: boolean;
  /** CLAIM_OWN: the lease the claim opened. */
  lease_id?: string | null;
  /** The lease's deadline (epoch ms; claim.sql.ts epochMs). */
  expires_ms?: number | null;
  seq: string | null;
  id: string;
  body: unknown;
  headers: Record<string, string>;
  group_key: string | null;
  routing_key: string | null;
  delivery_count: number;
}

/** Taken messages (leaseExpiresAt null) carry no receipt: there is nothing left to settle. */
export function toMessages(rows: ClaimRow[], leaseExpiresAt: Date | null): ReceivedMessage[] {
  return rows
    .filter((row) => row.seq !== null)
    .sort((a, b) => Number(a.seq) - Number(b.seq))
    .map((row) => ({
      id: row.id,
      sequence: Number(row.seq),
      body: row.body,
      headers: row.headers,
      groupKey: row.group_key,
      routingKey: row.routing_key,
      deliveryCount: row.delivery_count,
      receipt: leaseExpiresAt ? encodeReceipt(row.seq!, row.id, row.delivery_count) : '',
      leaseExpiresAt,
    }));
}
