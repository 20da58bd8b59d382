import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { query, refusedForItsData, type TransactionOptions } from '../database/transaction';
import {
  InvalidRequestError,
  MessageTooLargeError,
  ProducerFencedError,
  SequenceGapError,
} from '../errors/mailroom.errors';
import { assertInteger, assertName } from '../errors/validate';
import {
  dedupeWithinBatch,
  encodeMessage,
  type EncodedMessage,
  type OutgoingMessage,
  type SendResult,
} from '../message/message';
import type { QueueService } from '../queue/queue.service';
import { GroupCommit } from './group-commit';
import { findAcks } from './idempotent.producer';
import { DUPLICATES_SQL, SEND_ONE_SQL, SEND_SQL } from './send.sql';
import { record, secondsSince } from '../observability/instruments';
import { traceSend } from '../observability/tracing';

/** An idempotent producer's stamp on a send: the batch's messages take sequence, sequence + 1, … */
export interface ProducerStamp {
  id: string;
  epoch: number;
  sequence: number;
}

export interface SendOptions extends TransactionOptions {
  /** Sent by an idempotent producer (client.producer): fenced by epoch, deduplicated by sequence. */
  producer?: ProducerStamp;
}

/** Nothing found on a rare path (an empty answer shared by every send). */
const NONE: ReadonlyMap<unknown, never> = new Map<unknown, never>();

/** Stores messages; each send resolves only after its statement committed. */
export class Producer {
  private readonly groupCommit = new GroupCommit<EncodedMessage, SendResult>(
    (queue, encoded) => this.write(queue, encoded, undefined, null),
    refusedForItsData,
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly queues: QueueService,
  ) {}

  async send(queue: string, message: OutgoingMessage, options: SendOptions = {}): Promise<SendResult> {
    const [result] = await traceSend(queue, [message], (traced) => this.store(queue, traced, options, () => ''));
    return result;
  }

  /** All or nothing: either every message is stored (or found a duplicate) or none is. */
  sendBatch(queue: string, messages: OutgoingMessage[], options: SendOptions = {}): Promise<SendResult[]> {
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new InvalidRequestError('messages', 'must be a non-empty array');
    }
    return traceSend(queue, messages, (traced) => this.store(queue, traced, options, (i) => `messages[${i}].`));
  }

  /** `fieldOf(i)` prefixes the field names in errors about message i. */
  private async store(
    queue: string,
    messages: OutgoingMessage[],
    options: SendOptions,
    fieldOf: (i: number) => string,
  ): Promise<SendResult[]> {
    const stamp = options.producer === undefined ? null : checkStamp(options.producer);
    const encoded = messages.map((m, i) => {
      const message = encodeMessage(m, fieldOf(i));
      // A retry of a sequence is answered with the id it was first stored under, even once its ack is gone.
      return stamp && !message.clientId ? { ...message, id: producerMessageId(stamp, i) } : message;
    });
    const ref = await this.queues.ref(queue, options.manager);
    for (const m of encoded) {
      if (m.bytes > ref.options.maxMessageBytes)
        throw new MessageTooLargeError(queue, m.bytes, ref.options.maxMessageBytes);
    }
    // Sends on their own (no caller transaction, no producer stamp) share statements and commits.
    if (!options.manager && !stamp) return this.groupCommit.submit(queue, encoded);
    return this.write(queue, encoded, options.manager, stamp);
  }

  /** One statement: stores `encoded` all or nothing and says, per message, what happened. */
  private async write(
    queue: string,
    encoded: EncodedMessage[],
    manager: EntityManager | undefined,
    stamp: ProducerStamp | null,
  ): Promise<SendResult[]> {
    const { unique, firstOf } = dedupeWithinBatch(encoded);
    const sequenceOf = (m: EncodedMessage) => stamp && stamp.sequence + firstOf.get(m.id)!;
    const [sql, params] = statementFor(queue, unique, encoded.length, stamp, sequenceOf);
    const started = performance.now();
    const rows = await query<{ queue_id: number; acked: string | null; seqs: string }>(
      manager ?? this.dataSource.manager,
      sql,
      params,
    );
    if (rows.length === 0) {
      if (stamp) await this.explainRefusal(stamp, manager);
      return this.queues.explainMissing(queue, manager);
    }
    const stored = new Map<string, number>();
    rows[0].seqs.split(',').forEach((seq, k) => seq && stored.set(unique[k].id, Number(seq)));
    record('sent', queue, stored.size, secondsSince(started));
    // The rare paths (a producer's retry, a duplicate id) are awaited only when taken: a
    // lone send pays no extra turns of the event loop for them.
    const resent = stamp ? unique.filter((m) => sequenceOf(m)! <= Number(rows[0].acked)) : [];
    const acks = resent.length
      ? await findAcks(manager ?? this.dataSource.manager, stamp, resent.map(sequenceOf) as number[])
      : NONE;
    const duplicates =
      stored.size < unique.length ? await this.findDuplicates(rows[0].queue_id, unique, stored, manager) : NONE;
    return encoded.map((m, i) => {
      const sequence = stored.get(m.id);
      if (sequence !== undefined && firstOf.get(m.id) === i) return { id: m.id, sequence, duplicate: false };
      const ack = stamp ? acks.get(sequenceOf(m)!) : undefined;
      if (ack) return { ...ack, duplicate: true };
      return { id: m.id, sequence: sequence ?? duplicates.get(m.id) ?? null, duplicate: true };
    });
  }

  /** Why the producer's stamp was refused: a newer instance fenced it, or a sequence gap. */
  private async explainRefusal(stamp: ProducerStamp, manager?: EntityManager): Promise<void> {
    const [row] = await query<{ epoch: number; last_sequence: string; reject_gaps: boolean }>(
      manager ?? this.dataSource.manager,
      `SELECT epoch, last_sequence, reject_gaps FROM mailroom_producer WHERE id = $1`,
      [stamp.id],
    );
    if (!row || row.epoch !== stamp.epoch) throw new ProducerFencedError(stamp.id, stamp.epoch, row?.epoch ?? null);
    if (row.reject_gaps && stamp.sequence > Number(row.last_sequence) + 1) {
      throw new SequenceGapError(stamp.id, Number(row.last_sequence) + 1, stamp.sequence);
    }
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

function checkStamp(stamp: ProducerStamp): ProducerStamp {
  if (typeof stamp !== 'object' || stamp === null)
    throw new InvalidRequestError('producer', 'must be { id, epoch, sequence }');
  assertName(stamp.id, 'producer.id');
  assertInteger(stamp.epoch, 'producer.epoch', 1, 2_147_483_647);
  assertInteger(stamp.sequence, 'producer.sequence', 0, Number.MAX_SAFE_INTEGER);
  return stamp;
}

/** A name-based (version 5 style) uuid for the message at `offset` in a stamped batch. */
function producerMessageId(stamp: ProducerStamp, offset: number): string {
  const hash = createHash('sha1')
    .update(`mailroom/${stamp.id}/${stamp.epoch}/${stamp.sequence + offset}`)
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** SEND_ONE_SQL for a lone message with a generated id and no stamp; SEND_SQL for everything else. */
function statementFor(
  queue: string,
  unique: EncodedMessage[],
  sent: number,
  stamp: ProducerStamp | null,
  sequenceOf: (m: EncodedMessage) => number | null,
): [string, unknown[]] {
  const [lone] = unique;
  if (unique.length === 1 && !lone.clientId && !stamp) {
    return [SEND_ONE_SQL, [queue, lone.id, lone.body, lone.headers, lone.groupKey, lone.delayMs, lone.ttlMs]];
  }
  return [
    SEND_SQL,
    [
      queue,
      unique.map((m) => m.id).join(','),
      `[${unique.map((m) => m.body).join(',')}]`,
      unlessAll(unique, (m) => m.headers, '{}'),
      unlessAll(unique, (m) => m.groupKey, null),
      unlessAll(unique, (m) => m.delayMs, 0),
      unlessAll(unique, (m) => m.clientId, false),
      unlessAll(unique, (m) => m.ttlMs, null),
      stamp?.id ?? null,
      stamp?.epoch ?? null,
      stamp ? stamp.sequence + sent - 1 : null,
      stamp?.sequence ?? null,
      stamp ? unique.map(sequenceOf) : null,
    ],
  ];
}

/** The column of `field` over `messages`, or null when every value is `byDefault` (SEND_SQL fills it in). */
function unlessAll<V>(messages: EncodedMessage[], field: (m: EncodedMessage) => V, byDefault: V): V[] | null {
  const values = messages.map(field);
  return values.every((v) => v === byDefault) ? null : values;
}
