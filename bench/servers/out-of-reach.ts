// Options that put wsguard's limits and anomaly thresholds out of reach, so a bench measures what
// each frame costs instead of the run being cut short by a refusal.

/** A token bucket no bench fills. */
export const high = { rate: 1e9, burst: 1e9 };

/** `limits`, `anomaly` and `http` for `setupWebSockets`: nothing refused, no HTTP routes. */
export const outOfReach = {
  limits: {
    messages: high,
    bytes: { rate: 1e12, burst: 1e12 },
    user: high,
    connectionsPerIp: false,
    concurrentPerIp: false,
    concurrentPerUser: false,
  },
  anomaly: { thresholds: { warn: 1e9, disconnect: 2e9, block: 3e9 } },
  http: { healthPath: false, metricsPath: false },
} as const;
