/**
 * A token bucket per key, in this process: `perSecond` requests a second, with bursts of as
 * many. Several broker processes each allow that much (a per-process limit costs no database
 * round trip; document the total as limit × processes).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perSecond: number) {}

  /** 0 when the request may go ahead, else the whole seconds until it may (Retry-After). */
  take(key: string, now = Date.now()): number {
    if (this.perSecond === 0) return 0;
    const bucket = this.buckets.get(key) ?? { tokens: this.perSecond, at: now };
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }
}
