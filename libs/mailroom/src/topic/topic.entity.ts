import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** A topic is only a name with subscriptions; it has no life cycle of its own. */
@Entity('mailroom_topic', {
  comment: 'Names that messages are published to (publish.sql.ts resolves them by name).',
})
@Unique('mailroom_topic_name_key', ['name'])
export class TopicEntity {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'text' })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
