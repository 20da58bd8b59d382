import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { TopicEntity } from '../topic/topic.entity';
import { ActorRow } from '../actor/actor.entity';

/** A subscription actor row; the filter columns are projections read by the fan-out. */
@Entity('mailroom_subscription', {
  comment:
    'Subscription actors (subscription.machine.ts). routing_regex and header_filter are the filter publish.sql.ts applies in the fan-out.',
})
@Index('mailroom_subscription_name', ['topicId', 'name'], { unique: true, where: "state <> 'detached'" })
@Index('mailroom_subscription_queue', ['topicId', 'queueId'], { unique: true, where: "state <> 'detached'" })
@Index('mailroom_subscription_paused', ['queueId'], { where: "state = 'paused'" })
export class SubscriptionEntity extends ActorRow {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ name: 'topic_id', type: 'integer' })
  @ForeignKey(() => TopicEntity, { name: 'mailroom_subscription_topic_id_fkey' })
  topicId: number;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'queue_id', type: 'integer' })
  queueId: number;

  @Column({ name: 'routing_key', type: 'text', nullable: true })
  routingKey: string | null;

  @Column({ name: 'routing_regex', type: 'text', nullable: true })
  routingRegex: string | null;

  @Column({ name: 'header_filter', type: 'jsonb', default: {} })
  headerFilter: Record<string, string>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
