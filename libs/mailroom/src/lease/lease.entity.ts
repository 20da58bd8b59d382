import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';
import { ActorRow } from '../actor/actor.entity';

/** A lease actor row (lease.machine.ts). `expiresAt` is its deadline, moved by plain SQL: its owner's claims and extends. */
@Entity('mailroom_lease')
export class LeaseEntity extends ActorRow {
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ name: 'queue_id', type: 'integer' })
  queueId: number;

  @Column({ type: 'text' })
  consumer: string;

  @Column({ type: 'boolean' })
  exclusive: boolean;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
