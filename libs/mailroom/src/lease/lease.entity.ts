import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { ActorRow } from '../actor/actor.entity';

/** A lease actor row (lease.machine.ts). `expiresAt` is its deadline, moved by plain SQL (renew.sql.ts): its owner's claims and extends. */
@Entity('mailroom_lease', {
  comment:
    'Lease actors (lease/lease.machine.ts): one per pull receive that claimed messages, one per push consumer session, one per exclusive queue holder. expires_at moves only by its owner (lease/renew.sql.ts: extend, its own claims); finished leases are deleted.',
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
