import type { BenchBody } from './body';
import type { Consumer, ConsumeOptions } from '../systems/system';
import { sleep } from './timing';

/** A pull-style client: claim a batch (long-polling), then settle it in one call. */
export interface PullSource<M> {
  receive(signal: AbortSignal): Promise<M[]>;
  /** Where the client can: settle `done` and receive the next batch in one call (Mailroom's receive `ack`). */
  settleAndReceive?(done: M[], signal: AbortSignal): Promise<M[]>;
  body(message: M): BenchBody;
  settle(messages: M[]): Promise<void>;
}

/**
 * `concurrency` loops, each: receive a batch, run the handler on each message, settle the batch
 * (with the next receive, where the source can). This is what a push-handler API does inside.
 * A failing call is reported and retried after a pause, so a fault shows up as an error count
 * and a timeout, never as a silent stall.
 */
export function startPullLoop<M>(
  source: PullSource<M>,
  concurrency: number,
  options: ConsumeOptions,
  onError: (error: unknown) => void,
): Consumer {
  const abort = new AbortController();
  const loop = async () => {
    let done: M[] = [];
    while (!abort.signal.aborted) {
      try {
        const messages =
          done.length > 0 && source.settleAndReceive
            ? await source.settleAndReceive(done, abort.signal)
            : await source.receive(abort.signal);
        done = [];
        if (messages.length === 0) continue;
        for (const message of messages) options.onMessage(source.body(message));
        if (source.settleAndReceive) done = messages;
        else await source.settle(messages);
      } catch (error) {
        onError(error);
        await sleep(100);
      }
    }
    if (done.length > 0) await source.settle(done).catch(onError);
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    async stop() {
      abort.abort();
      await Promise.all(loops);
    },
  };
}
