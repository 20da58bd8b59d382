import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { ActorRow } from '../actor/actor.entity';

/** A consumer lease actor row. `expiresAt` is the heartbeat, renewed by plain SQL. */
@Entity('mailroom_lease', {
  comment:
    'Consumer lease actors (lease.machine.ts), one per consumer session. expires_at is the heartbeat, renewed by receive and extend.',
})
@Index('mailroom_lease_expiry', ['expiresAt'], { where: "state = 'active'" })
@Index('mailroom_lease_exclusive', ['queueId'], { unique: true, where: "state = 'active' AND exclusive" })
export class LeaseEntity extends ActorRow {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'queue_id', type: 'integer' })
  queueId: number;

  @Column({ type: 'text' })
  consumer: string;

  @Column({ type: 'boolean', default: false })
  exclusive: boolean;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
