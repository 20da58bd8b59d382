import { Column, UpdateDateColumn } from 'typeorm';
import type { StateValue } from 'xstate';

/** What the actor store needs of every actor row; the concept's entity adds its projections. */
export abstract class ActorRow {
  /** The primary key; each concept's entity declares its column. */
  declare id: string | number;

  /** The state value: its name, or JSON text for nested and parallel states (actor.snapshot.ts). */
  @Column({ type: 'text' })
  state: string;

  @Column({ type: 'jsonb' })
  snapshot: PersistedActor;

  @Column({ type: 'integer', default: 1 })
  version: number;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** XState's persisted snapshot (`machine.getPersistedSnapshot`), as stored. */
export interface PersistedActor {
  value: StateValue;
  context: unknown;
  status?: 'active' | 'done' | 'error' | 'stopped';
  output?: unknown;
  error?: unknown;
  historyValue?: Record<string, unknown>;
  children?: Record<string, unknown>;
}
