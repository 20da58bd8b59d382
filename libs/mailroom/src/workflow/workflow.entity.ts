import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { ActorRow } from '../actor/actor.entity';

/** The parent instance's queue, key and the wait its answer must match. */
export interface ParentRef {
  workflow: string;
  key: string;
  invocation: string;
  wait: string;
}

export type WorkflowStatus = 'running' | 'done' | 'failed' | 'cancelled';

/** A workflow instance: one per (workflow, key), pinned to the machine version it started with. */
@Entity('mailroom_workflow_instance', {
  comment:
    "Workflow actors (workflow.engine.ts): snapshot is XState's persisted form; status, state_value, tags are its projections for listing; parent names the instance a child workflow answers.",
})
@Index('mailroom_workflow_instance_key', ['workflow', 'key'], { unique: true })
@Index('mailroom_workflow_instance_list', ['workflow', 'status', 'id'])
export class WorkflowInstanceEntity extends ActorRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  declare id: string;

  @Column({ type: 'text' })
  workflow: string;

  @Column({ type: 'text' })
  key: string;

  @Column({ name: 'machine_version', type: 'text' })
  machineVersion: string;

  @Column({ type: 'text' })
  status: WorkflowStatus;

  @Column({ name: 'state_value', type: 'jsonb' })
  stateValue: unknown;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  tags: string[];

  @Column({ type: 'text', nullable: true })
  failure: string | null;

  /** Set on a child workflow: where its done or error event goes. */
  @Column({ type: 'jsonb', nullable: true })
  parent: ParentRef | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
