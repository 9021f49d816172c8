// Lua scripts: each read-modify-write runs atomically inside Redis, and every key they write
// gets a TTL in the same step, so no key outlives its use.
//
// The clock is Redis's own (TIME), so nodes with skewed clocks still share one bucket fairly.

const NOW_MS = `local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

/**
 * KEYS[1] bucket; ARGV capacity, refillPerSec, cost, want (>= cost)
 *   -> { granted, remaining, retryAfterMs, fullInMs }.
 * Grants up to `want` tokens (a node's local lease), at least `cost`, or none and the wait for
 * `cost`. `fullInMs` is when the bucket will be full again: a lease must be spent by then, or
 * the node would hold tokens the bucket has already given back.
 */
export const TAKE = `
${NOW_MS}
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  at = now
end
local elapsed = now - at
if elapsed > 0 then
  tokens = math.min(capacity, tokens + elapsed * rate / 1000)
  at = now
end
local granted = 0
local wait = 0
if tokens >= cost then
  granted = math.max(cost, math.min(want, math.floor(tokens)))
  tokens = tokens - granted
else
  wait = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return { granted, math.floor(tokens), wait, math.ceil((capacity - tokens) * 1000 / rate) }
`;

/** KEYS[1] counter; ARGV windowMs -> count in the fixed window. */
export const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`;

/** KEYS[1] counter; ARGV ttlMs -> count after adding one. */
export const ACQUIRE = `
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
`;

/** KEYS[1] counter; ARGV how many -> count after taking them; the key goes when it reaches 0. */
export const RELEASE = `
local n = redis.call('DECRBY', KEYS[1], ARGV[1])
if n <= 0 then redis.call('DEL', KEYS[1]) end
return n
`;

/** KEYS[1] sorted set of offence times; ARGV windowMs, unique member -> offences in the window. */
export const OFFEND = `
${NOW_MS}
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], window)
return redis.call('ZCARD', KEYS[1])
`;

export const SCRIPTS = {
  wsgTake: TAKE,
  wsgHit: HIT,
  wsgAcquire: ACQUIRE,
  wsgRelease: RELEASE,
  wsgOffend: OFFEND,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
