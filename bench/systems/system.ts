import type { BenchBody } from '../lib/body';

/**
 * The contract every system under test implements, kept as small as the workloads need
 * (Watermill's `Publisher`/`Subscriber` are the model). Each run opens a fresh queue (a fresh
 * schema on Postgres, a fresh queue name on RabbitMQ), so no run inherits another's bloat.
 */
export interface BenchSystem {
  /** Short id used on the command line (`--only mailroom,pg-boss`). */
  readonly id: string;
  readonly label: string;
  /** Where its messages live: the ratio columns compare Postgres systems separately. */
  readonly store: 'postgres' | 'redis' | 'rabbitmq';
  /** A peer is compared with Mailroom; the raw-SQL baseline and Mailroom itself are not peers. */
  readonly role: 'mailroom' | 'peer' | 'baseline';
  /** The client version and the settings that matter, for RESULTS.md. */
  describe(): { version: string; settings: string };
  /** Null when usable; otherwise why it is skipped (unreachable server, app not built...). */
  probe(): Promise<string | null>;
  /** A fresh, empty queue for one run. */
  open(run: RunInfo): Promise<QueueUnderTest>;
}

export interface RunInfo {
  /** Unique per run and process, safe as a schema or queue name: `w3_r2_1kx3`. */
  tag: string;
  settings: BenchSettings;
  /** A failed client call inside a consumer loop: counted and shown with the run. */
  onError(error: unknown): void;
}

export interface BenchSettings {
  /** Handlers working at once in W3/W4 (10). */
  concurrency: number;
  /** Messages a pull consumer claims per call, where the client batches (10). */
  batch: number;
}

export interface ConsumeOptions {
  /** Called when a handler starts, with the decoded body; the adapter acks after it returns. */
  onMessage(body: BenchBody): void;
}

export interface Consumer {
  /** Stops taking messages and settles what it holds; resolves when the consumer is closed. */
  stop(): Promise<void>;
}

export interface QueueUnderTest {
  /** One message; resolves once the system acknowledged it to the producer (committed/confirmed). */
  send(body: BenchBody): Promise<void>;
  /** Many messages in the fewest calls the client allows. */
  sendBatch(bodies: BenchBody[]): Promise<void>;
  /** Starts `settings.concurrency` handlers with at-least-once settlement (ack after the handler). */
  consume(options: ConsumeOptions): Promise<Consumer>;
  /**
   * W5 slot: handlers whose effect commits with the ack (exactly-once). Left undefined until the
   * system has such a mode; the W5 workload then reports "not available".
   */
  consumeExactlyOnce?(options: ConsumeOptions): Promise<Consumer>;
  /** The server process the system runs in, where it is one of ours (W3m samples its memory). */
  serverPid?(): number;
  /** Messages not yet settled (waiting, delayed or in flight), read from the system itself. */
  pending(): Promise<number>;
  /** Drops the run's queue or schema and closes every connection. */
  close(): Promise<void>;
}
