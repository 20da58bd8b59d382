import { observe } from '@mailroom/core';

/**
 * Receives waiting for messages in this process, per queue, as the library records them
 * (a receive counts once its claim found nothing and it waits for a wake-up): what a test
 * waits on so that only a wake-up can deliver what it sends next.
 */
export function watchLongPolls(): { waiting(queue: string): number; stop(): void } {
  const counts = new Map<string, number>();
  const stop = observe({ waiting: (queue, delta) => void counts.set(queue, (counts.get(queue) ?? 0) + delta) });
  return { waiting: (queue) => counts.get(queue) ?? 0, stop };
}
