/** What W6 drives on each system: order workflows started by a message, and timers. */
export interface W6System {
  /** Starts the order workflow for `orderId` the way the system starts work from a message. */
  startOrder(orderId: string): Promise<void>;
  /** When the workflow's last step finished (performance.now() in this process), once it did. */
  finishedAt(orderId: string): number | undefined;
  /** Starts a workflow that sleeps `waitMs` durably. */
  startTimer(key: string, waitMs: number): Promise<void>;
  /** Many of them (one transaction where the system allows); used to fill the memory phase. */
  startTimers(keys: string[], waitMs: number): Promise<void>;
  timersFired(): Promise<number>;
  /** Fire time − deadline of every fired timer, ms, by the key it was started with. */
  timerLateness(waitMs: number): Promise<Map<string, number>>;
  /** Durable state changes recorded so far (Mailroom: history rows; DBOS: status and step rows). */
  transitions(): Promise<number>;
  /** Instances not finished. */
  waiting(): Promise<number>;
  close(): Promise<void>;
}
