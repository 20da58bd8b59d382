import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { ActorRow } from '../actor/actor.entity';

/** A subscription actor row; the filter columns are projections read by the fan-out. */
@Entity('mailroom_subscription')
export class SubscriptionEntity extends ActorRow {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'topic_id', type: 'integer' })
  topicId: number;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'queue_id', type: 'integer' })
  queueId: number;

  @Column({ name: 'routing_key', type: 'text', nullable: true })
  routingKey: string | null;

  @Column({ name: 'routing_regex', type: 'text', nullable: true })
  routingRegex: string | null;

  @Column({ name: 'header_filter', type: 'jsonb' })
  headerFilter: Record<string, string>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
