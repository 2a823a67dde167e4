/**
 * Exponential backoff with ±20 % jitter, capped: the one schedule for redialing
 * a peer (discovery's dialer) and for resending a message whose stream broke
 * (the router). Kept here rather than taken from `p-retry`: both callers keep
 * their own state between attempts (the dialer across events, the router inside
 * a deadline), so they need the delay, not a retry loop.
 */
export interface BackoffOptions {
  /** Delay after the first failure. */
  minMs: number
  /** Delays stop growing here. */
  maxMs: number
  /** @default Math.random */
  random?: () => number
}

/** The delay before attempt `failures + 1`, after `failures` (≥ 1) failures in a row. */
export function backoffDelay (failures: number, options: BackoffOptions): number {
  const base = Math.min(options.maxMs, options.minMs * 2 ** Math.min(Math.max(failures, 1) - 1, 30))
  return Math.round(base * (0.8 + (options.random ?? Math.random)() * 0.4))
}
