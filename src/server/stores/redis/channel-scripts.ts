// Lua scripts for channel history and presence: each runs atomically inside Redis, with Redis's
// own clock, and every key it writes gets a TTL in the same step.

const NOW_MS = `local t = redis.call('TIME'); local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

// Budget bookkeeping across channels: z (channel -> when its log expires), b (channel -> bytes),
// total (bytes of all logs). `forget` drops one channel's share of it.
const ACCOUNTING = `
local z = ARGV[1] .. 'z'
local b = ARGV[1] .. 'b'
local total = ARGV[1] .. 'total'
local function forget(ch)
  local old = tonumber(redis.call('HGET', b, ch) or '0')
  if old > 0 then redis.call('DECRBY', total, old) end
  redis.call('HDEL', b, ch)
  redis.call('ZREM', z, ch)
end
local function fresh(epoch, metaTtl)
  redis.call('DEL', KEYS[1])
  forget(ARGV[2])
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'offset', 0, 'bytes', 0)
  redis.call('PEXPIRE', KEYS[2], metaTtl)
end
`;

/**
 * KEYS log (list of "<ms> <frame>"), meta (hash epoch, offset, bytes);
 * ARGV keyPrefix, channel, body, size, ttlMs, maxBytes, candidateEpoch, pubsubChannel, metaTtlMs, maxTotal
 *   -> { epoch, offset }. Publishes the finished frame in the same step, so offsets reach every node in order.
 */
export const HISTORY_APPEND = `
${NOW_MS}
${ACCOUNTING}
local size = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local maxBytes = tonumber(ARGV[6])
local metaTtl = tonumber(ARGV[9])
local maxTotal = tonumber(ARGV[10])
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[7]
  fresh(epoch, metaTtl)
end
local offset = redis.call('HINCRBY', KEYS[2], 'offset', 1)
local frame = ARGV[3] .. ',"offset":' .. offset .. ',"epoch":"' .. epoch .. '"}'
redis.call('RPUSH', KEYS[1], now .. ' ' .. frame)
local bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0') + #frame
local len = redis.call('LLEN', KEYS[1])
while len > 0 do
  local head = redis.call('LINDEX', KEYS[1], 0)
  local sp = string.find(head, ' ', 1, true)
  local at = tonumber(string.sub(head, 1, sp - 1))
  if len > size or bytes > maxBytes or at + ttl <= now then
    redis.call('LPOP', KEYS[1])
    bytes = bytes - (#head - sp)
    len = len - 1
  else
    break
  end
end
redis.call('HSET', KEYS[2], 'bytes', bytes)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], metaTtl)
local old = tonumber(redis.call('HGET', b, ARGV[2]) or '0')
redis.call('HSET', b, ARGV[2], bytes)
local sum = redis.call('INCRBY', total, bytes - old)
redis.call('ZADD', z, now + ttl, ARGV[2])
-- Logs that expired on their own leave the budget (a few per call).
for _, ch in ipairs(redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 16)) do
  forget(ch)
end
-- Past the budget: whole logs go, the one closest to expiry first; their epoch changes.
local guard = 0
sum = tonumber(redis.call('GET', total) or '0')
while sum > maxTotal and guard < 64 do
  guard = guard + 1
  local first = redis.call('ZRANGE', z, 0, 0)[1]
  if not first or first == ARGV[2] then break end
  forget(first)
  redis.call('DEL', ARGV[1] .. 'log:' .. first, ARGV[1] .. 'meta:' .. first)
  sum = tonumber(redis.call('GET', total) or '0')
end
for _, k in ipairs({ z, b, total }) do redis.call('PEXPIRE', k, metaTtl) end
redis.call('PUBLISH', ARGV[8], frame)
return { epoch, offset }
`;

/**
 * KEYS log, meta; ARGV keyPrefix, channel, sinceEpoch ('' for none), sinceOffset, ttlMs, candidateEpoch, metaTtlMs
 *   -> { epoch, offset, recovered (0/1), entries }.
 */
export const HISTORY_READ = `
${NOW_MS}
${ACCOUNTING}
local ttl = tonumber(ARGV[5])
local metaTtl = tonumber(ARGV[7])
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[6]
  fresh(epoch, metaTtl)
end
local offset = tonumber(redis.call('HGET', KEYS[2], 'offset'))
local since = tonumber(ARGV[4])
if ARGV[3] == '' or ARGV[3] ~= epoch or since > offset then return { epoch, offset, 0, {} } end
local missed = offset - since
if missed == 0 then return { epoch, offset, 1, {} } end
local entries = redis.call('LRANGE', KEYS[1], -missed, -1)
if #entries < missed then return { epoch, offset, 0, {} } end
local head = entries[1]
local at = tonumber(string.sub(head, 1, string.find(head, ' ', 1, true) - 1))
if at + ttl <= now then return { epoch, offset, 0, {} } end
return { epoch, offset, 1, entries }
`;

// Presence: one hash per channel, user -> JSON {node: expiresAtMs}. A node renews its marks on a
// timer; a mark nobody renews (its node died) expires and the next sweep reports the user left.
const DECODE = `
local function load(raw, now)
  local nodes = {}
  local live = 0
  if raw then
    for n, exp in pairs(cjson.decode(raw)) do
      if exp > now then
        nodes[n] = exp
        live = live + 1
      end
    end
  end
  return nodes, live
end
`;

/** KEYS presence hash; ARGV user, node, ttlMs -> 1 when the user was on no node. */
export const PRESENCE_ADD = `
${NOW_MS}
${DECODE}
local nodes, live = load(redis.call('HGET', KEYS[1], ARGV[1]), now)
nodes[ARGV[2]] = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(nodes))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
if live == 0 then return 1 end
return 0
`;

/** KEYS presence hash; ARGV user, node -> 1 when the user is now on no node. */
export const PRESENCE_REMOVE = `
${NOW_MS}
${DECODE}
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local nodes, live = load(raw, now)
if nodes[ARGV[2]] == nil then return 0 end
nodes[ARGV[2]] = nil
if live <= 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(nodes))
return 0
`;

/** KEYS presence hash; ARGV node, ttlMs, users... -> the users whose every mark expired. */
export const PRESENCE_REFRESH = `
${NOW_MS}
${DECODE}
local ttl = tonumber(ARGV[2])
for i = 3, #ARGV do
  local nodes = load(redis.call('HGET', KEYS[1], ARGV[i]), now)
  nodes[ARGV[1]] = now + ttl
  redis.call('HSET', KEYS[1], ARGV[i], cjson.encode(nodes))
end
local left = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local nodes, live = load(all[i + 1], now)
  if live == 0 then
    redis.call('HDEL', KEYS[1], all[i])
    table.insert(left, all[i])
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ttl) end
return left
`;

/** KEYS presence hash; ARGV max -> { count, members (at most max) }. */
export const PRESENCE_GET = `
${NOW_MS}
${DECODE}
local max = tonumber(ARGV[1])
local count = 0
local members = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local _, live = load(all[i + 1], now)
  if live > 0 then
    count = count + 1
    if #members < max then table.insert(members, all[i]) end
  end
end
return { count, members }
`;
