import type { OutgoingMessage } from '../message/message';
import type { Publication } from '../topic/topic.service';

/** What a `@WorkflowAction` may do: its messages are written in the transition's transaction. */
export interface WorkflowEffects {
  send(queue: string, body: unknown, options?: Omit<OutgoingMessage, 'body'>): void;
  publish(topic: string, body: unknown, options?: Omit<Publication, 'body'>): void;
}

export type RecordedEffect =
  { kind: 'send'; queue: string; message: OutgoingMessage } | { kind: 'publish'; topic: string; message: Publication };

/** Collects an action's effects; the engine writes them after the action returned. */
export class EffectRecorder implements WorkflowEffects {
  readonly effects: RecordedEffect[] = [];

  send(queue: string, body: unknown, options: Omit<OutgoingMessage, 'body'> = {}): void {
    this.effects.push({ kind: 'send', queue, message: { ...options, body } });
  }

  publish(topic: string, body: unknown, options: Omit<Publication, 'body'> = {}): void {
    this.effects.push({ kind: 'publish', topic, message: { ...options, body } });
  }
}
