import { InvalidRequestError } from '../errors/mailroom.errors';

/**
 * A receipt names one delivery: (message id, delivery number), plus the message's
 * sequence so settling needs no second index. It is the fencing token: a claim bumps
 * the delivery number, so a receipt from an earlier delivery never matches again.
 * Opaque to clients (base64url).
 */
export interface Receipt {
  seq: string;
  id: string;
  delivery: number;
}

const DECODED = /^(\d{1,19})\.([0-9a-f-]{36})\.(\d{1,9})$/;

export function encodeReceipt(seq: string | number, id: string, delivery: number): string {
  return Buffer.from(`${seq}.${id}.${delivery}`).toString('base64url');
}

export function decodeReceipts(receipts: unknown, field = 'receipts'): Receipt[] {
  if (!Array.isArray(receipts) || receipts.length === 0 || receipts.length > 1000) {
    throw new InvalidRequestError(field, 'must be an array of 1 to 1000 receipts');
  }
  const unique = [...new Set(receipts)];
  return unique.map((receipt, i) => {
    const match = typeof receipt === 'string' ? DECODED.exec(Buffer.from(receipt, 'base64url').toString()) : null;
    if (!match) throw new InvalidRequestError(`${field}[${i}]`, 'is not a receipt issued by Mailroom');
    return { seq: match[1], id: match[2], delivery: Number(match[3]) };
  });
}

/** The three parallel arrays the settle statements unnest. */
export function receiptArrays(receipts: Receipt[]): [string[], string[], number[]] {
  return [receipts.map((r) => r.seq), receipts.map((r) => r.id), receipts.map((r) => r.delivery)];
}
