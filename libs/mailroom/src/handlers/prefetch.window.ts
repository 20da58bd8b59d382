/**
 * How many messages a push consumer holds (claimed, running or waiting to run), between
 * `floor` and `ceiling`. With fast handlers and a backlog, messages per claim decide
 * throughput: a claim is one statement and one commit, so a consumer that holds 10 does
 * about 10 ÷ commit time (W3 at prefetch 10: ~15k msg/s; at 100: ~45k, bench/PROFILE-library.md).
 * Holding many is wrong when handlers are slow (another consumer of the queue could run
 * them now) and pointless when the queue is empty, so the window adapts:
 *
 * - it doubles when a full claim (the queue has more) answers while a handler slot stands
 *   idle with nothing to run: the handlers were waiting for the claim;
 * - it halves when a claim answers while messages from earlier claims still wait for a
 *   slot: the handlers are the bottleneck, and what waits here could run on another consumer;
 * - it returns to `floor` after a claim that found fewer than it asked for: the backlog is gone.
 *
 * It never leaves [floor, ceiling], so a consumer never holds more than `ceiling`, and with
 * slow handlers no more than `floor`: competing consumers of one queue all get work.
 */
export class PrefetchWindow {
  private current: number;

  constructor(
    readonly floor: number,
    readonly ceiling: number,
  ) {
    this.current = floor;
  }

  get size(): number {
    return this.current;
  }

  /**
   * When a claim that asked for `asked` answers with `got`, before its messages are taken
   * in; `idleSlots`: a handler slot is free with nothing to run; `waiting`: messages wait for a slot.
   */
  claimed(asked: number, got: number, idleSlots: boolean, waiting: boolean): void {
    if (got < asked) this.current = this.floor;
    else if (waiting) this.current = Math.max(this.floor, Math.floor(this.current / 2));
    else if (idleSlots) this.current = Math.min(this.ceiling, this.current * 2);
  }
}
