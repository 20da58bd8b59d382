import { Column, UpdateDateColumn } from 'typeorm';

/** What the actor store needs of every actor row; the concept's entity adds its projections. */
export abstract class ActorRow {
  /** The primary key; each concept's entity declares its column. */
  declare id: string | number;

  @Column({ type: 'text' })
  state: string;

  @Column({ type: 'jsonb' })
  snapshot: PersistedActor;

  @Column({ type: 'integer', default: 1 })
  version: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** The part of an XState snapshot that is stored: enough for `machine.resolveState`. */
export interface PersistedActor {
  value: string;
  context: unknown;
}
