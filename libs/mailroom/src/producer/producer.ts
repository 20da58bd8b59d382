import type { DataSource, EntityManager } from 'typeorm';
import { query, type TransactionOptions } from '../database/transaction';
import { InvalidRequestError, MessageTooLargeError } from '../errors/mailroom.errors';
import {
  dedupeWithinBatch,
  encodeMessage,
  type EncodedMessage,
  type OutgoingMessage,
  type SendResult,
} from '../message/message';
import type { QueueService } from '../queue/queue.service';
import { DUPLICATES_SQL, SEND_SQL } from './send.sql';

/** With `manager`, the message exists only if the caller's transaction commits. */
export type SendOptions = TransactionOptions;

/** Stores messages; each send resolves only after its statement committed. */
export class Producer {
  constructor(
    private readonly dataSource: DataSource,
    private readonly queues: QueueService,
  ) {}

  async send(queue: string, message: OutgoingMessage, options: SendOptions = {}): Promise<SendResult> {
    const [result] = await this.sendBatch(queue, [message], options);
    return result;
  }

  /** All or nothing: either every message is stored (or found a duplicate) or none is. */
  async sendBatch(queue: string, messages: OutgoingMessage[], options: SendOptions = {}): Promise<SendResult[]> {
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new InvalidRequestError('messages', 'must be a non-empty array');
    }
    const single = messages.length === 1;
    const encoded = messages.map((m, i) => encodeMessage(m, single ? '' : `messages[${i}].`));
    const ref = await this.queues.ref(queue, options.manager);
    for (const m of encoded) {
      if (m.bytes > ref.options.maxMessageBytes)
        throw new MessageTooLargeError(queue, m.bytes, ref.options.maxMessageBytes);
    }
    const { unique, firstOf } = dedupeWithinBatch(encoded);
    const rows = await query<{ queue_id: number; id: string | null; seq: string | null }>(
      options.manager ?? this.dataSource.manager,
      SEND_SQL,
      [
        queue,
        unique.map((m) => m.id),
        unique.map((m) => m.body),
        unique.map((m) => m.headers),
        unique.map((m) => m.groupKey),
        unique.map((m) => m.delayMs),
        unique.map((m) => m.clientId),
        unique.map((m) => m.ttlMs),
      ],
    );
    if (rows.length === 0) return this.queues.explainMissing(queue, options.manager);
    const stored = new Map(rows.filter((r) => r.id !== null).map((r) => [r.id!, Number(r.seq)]));
    const duplicates = await this.findDuplicates(rows[0].queue_id, unique, stored, options.manager);
    return encoded.map((m, i) => {
      const sequence = stored.get(m.id);
      if (sequence !== undefined && firstOf.get(m.id) === i) return { id: m.id, sequence, duplicate: false };
      return { id: m.id, sequence: sequence ?? duplicates.get(m.id)!, duplicate: true };
    });
  }

  private async findDuplicates(
    queueId: number,
    unique: EncodedMessage[],
    stored: Map<string, number>,
    manager?: EntityManager,
  ): Promise<Map<string, number>> {
    const missing = unique.filter((m) => !stored.has(m.id)).map((m) => m.id);
    if (missing.length === 0) return new Map();
    const rows = await query<{ id: string; seq: string }>(manager ?? this.dataSource.manager, DUPLICATES_SQL, [
      queueId,
      missing,
    ]);
    return new Map(rows.map((r) => [r.id, Number(r.seq)]));
  }
}
