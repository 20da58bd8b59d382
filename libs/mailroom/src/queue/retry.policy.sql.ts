/** A retry policy's fields as SQL expressions: a queue row's columns, or a statement's parameters. */
export interface RetryPolicyColumns {
  strategy: string;
  delayMs: string;
  maxDelayMs: string;
  jitter: string;
}

/** The policy of the queue row aliased `q`. */
export const QUEUE_RETRY_POLICY: RetryPolicyColumns = {
  strategy: 'q.retry_strategy',
  delayMs: 'q.retry_delay_ms',
  maxDelayMs: 'q.retry_max_delay_ms',
  jitter: 'q.retry_jitter',
};

/**
 * The retry delay (ms, a float8) of `policy` for something that has failed `attempts`
 * times before this failure: fixed, or doubling from delayMs up to maxDelayMs; then drawn
 * from [delay·(1−jitter), delay]. The one definition of the formula: every failure
 * computes its delay here, inside the statement that records it (a nack, the outbox
 * relay's retry), so there is no copy in TypeScript to drift from it.
 */
export const retryDelaySql = (policy: RetryPolicyColumns, attempts: string) => `
  (CASE WHEN ${policy.strategy} = 'fixed' THEN ${policy.delayMs}::float8
        ELSE least(${policy.maxDelayMs}::float8, ${policy.delayMs} * power(2, least(${attempts}, 30)))
   END * (1 - ${policy.jitter} * random()))`;
