import type { Wakeups } from '../database/wakeups';
import type { QueueRef } from '../queue/queue.service';

/** When a claim started: Date.now() and the queue's wake-up mark then (Wakeups.mark). */
export interface ClaimStamp {
  at: number;
  mark: number;
}

/**
 * What a session's claims tell it about its queue: the latest claim that looked and came
 * back short (fewer messages than it asked for) saw every deliverable message. While no
 * wake-up of the queue came since that claim started, the queue is known to be empty, and a
 * long poll may wait without claiming first (ConsumerSession.receive). Every send, nack,
 * expiry, release, restore and resume notifies, so a message deliverable since then has
 * changed the mark; what no notification announces (delays coming due) is found at the
 * poll, counted from that claim. Standard queues only: on a grouped or exclusive one an
 * ack (no notification) can free a message. A claim that skips another's locked rows can
 * come back short while the queue holds messages; a waiting receive finds those at its
 * next poll, as it always did.
 */
export class KnownEmpty {
  private short: ClaimStamp | null = null;

  constructor(
    private readonly wakeups: Wakeups,
    private readonly queue: QueueRef,
    private readonly pollIntervalMs: number,
  ) {}

  /** The stamp of a claim about to start. */
  stamp(): ClaimStamp {
    return { at: Date.now(), mark: this.wakeups.mark(this.queue.id) };
  }

  /** The claim stamped `stamp` looked at the queue and took `taken` of the `asked` messages. */
  claimed(stamp: ClaimStamp, taken: number, asked: number): void {
    this.short = taken < asked ? stamp : null;
  }

  /** While the queue is known to be empty, the ms until the poll that finds delays come due; else null. */
  pollMs(): number | null {
    if (this.short === null || this.queue.options.ordering !== 'standard') return null;
    if (this.wakeups.mark(this.queue.id) !== this.short.mark) return null;
    const pollMs = this.short.at + this.pollIntervalMs - Date.now();
    return pollMs > 0 ? pollMs : null;
  }
}
