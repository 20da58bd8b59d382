import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { ActorRow } from '../actor/actor.entity';
import type { QueueOrdering } from './queue.options';

const NULLABLE_NUMBER = { to: (v: unknown) => v, from: (v: string | null) => (v === null ? null : Number(v)) };

/**
 * A queue actor row; option columns are projections of the snapshot for hot-path SQL.
 * Indexes, defaults and comments repeat the migrations', so TypeORM's schema sync finds
 * nothing to change (test/package/entities-match-migrations.spec.ts).
 */
@Entity('mailroom_queue', {
  comment:
    'Queue actors (queue.machine.ts). state/options are projections of snapshot, read by send and claim without loading the actor.',
})
@Index('mailroom_queue_name', ['name'], { unique: true, where: "state <> 'deleted'" })
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

  @Column({
    name: 'dead_letter_queue_id',
    type: 'integer',
    nullable: true,
    comment:
      'dead-letter/bury.sql.ts moves exhausted, rejected and (opt-in) expired messages here in the statement that fails them.',
  })
  deadLetterQueueId: number | null;

  @Column({ name: 'dead_letter_expired', type: 'boolean', default: false })
  deadLetterExpired: boolean;

  @Column({ name: 'message_ttl_ms', type: 'bigint', nullable: true, transformer: NULLABLE_NUMBER })
  messageTtlMs: number | null;

  @Column({ name: 'retry_strategy', type: 'text', default: 'exponential' })
  retryStrategy: string;

  @Column({ name: 'retry_delay_ms', type: 'integer', default: 1000 })
  retryDelayMs: number;

  @Column({ name: 'retry_max_delay_ms', type: 'integer', default: 300000 })
  retryMaxDelayMs: number;

  // A raw default: TypeORM quotes a number ('0.2'), which Postgres reports unquoted for real.
  @Column({ name: 'retry_jitter', type: 'real', default: () => '0.2' })
  retryJitter: number;

  /** A counter the janitor increments in SQL (queue.janitor.ts); the actor store never writes it. */
  @Column({
    name: 'expired_dropped',
    type: 'bigint',
    default: 0,
    select: false,
    insert: false,
    update: false,
    comment:
      'Messages whose time-to-live passed and were dropped (queues without dead_letter_expired). A counter, not a projection.',
  })
  expiredDropped: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
