import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { ActorRow } from '../actor/actor.entity';
import type { QueueOrdering } from './queue.options';

const NULLABLE_NUMBER = { to: (v: unknown) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/** A queue actor row; option columns are projections of the snapshot for hot-path SQL. */
@Entity('mailroom_queue')
export class QueueEntity extends ActorRow {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'lease_ms', type: 'integer' })
  leaseMs: number;

  @Column({ name: 'max_deliveries', type: 'integer' })
  maxDeliveries: number;

  @Column({ type: 'text' })
  ordering: QueueOrdering;

  @Column({ name: 'max_message_bytes', type: 'integer' })
  maxMessageBytes: number;

  @Column({ name: 'dedup_window_ms', type: 'integer' })
  dedupWindowMs: number;

  @Column({
    name: 'retention_ms',
    type: 'bigint',
    nullable: true,
    transformer: { to: (v) => v, from: (v) => (v === null ? null : Number(v)) },
  })
  retentionMs: number | null;

  @Column({ name: 'dead_letter_queue_id', type: 'integer', nullable: true })
  deadLetterQueueId: number | null;

  @Column({ name: 'dead_letter_expired', type: 'boolean' })
  deadLetterExpired: boolean;

  @Column({ name: 'message_ttl_ms', type: 'bigint', nullable: true, transformer: NULLABLE_NUMBER })
  messageTtlMs: number | null;

  @Column({ name: 'retry_strategy', type: 'text' })
  retryStrategy: string;

  @Column({ name: 'retry_delay_ms', type: 'integer' })
  retryDelayMs: number;

  @Column({ name: 'retry_max_delay_ms', type: 'integer' })
  retryMaxDelayMs: number;

  @Column({ name: 'retry_jitter', type: 'real' })
  retryJitter: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
