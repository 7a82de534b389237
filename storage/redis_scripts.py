"""Lua scripts that make the Redis backend's multi-key changes atomic.

Every script gets the key prefix as ARGV[1] and builds its keys from it (one Redis, not a
cluster). Times come from the Python side as decimal strings and are stored as given: Lua would
print a number with only 14 significant digits. A script that can refuse checks everything
before its first write, because Redis does not roll back a script that fails halfway.

Queue layout per topic T: ``q:T:live`` and ``q:T:dead`` (seq → id) list rows for operators;
``q:T:key:K`` (seq → id) orders the live rows of key K; ``q:T:ready`` holds only the head of each
key, scored by when it may next be leased, with members ``<16-digit seq>:<id>`` so that equal
scores fall back to queue order.
"""

from __future__ import annotations

_PRELUDE = r"""
local P = ARGV[1]
local MSG_FIELDS = {'id', 'topic', 'key', 'payload', 'created_at', 'available_at', 'attempts',
                    'last_error', 'dedup'}

local function qkey(topic, part) return P .. 'q:' .. topic .. ':' .. part end
local function mkey(id) return P .. 'q:msg:' .. id end
local function member(seq, id) return string.rep('0', 16 - #seq) .. seq .. ':' .. id end

local function promote(topic, key)
  local head = redis.call('ZRANGE', qkey(topic, 'key:' .. key), 0, 0)[1]
  if head then
    local f = redis.call('HMGET', mkey(head), 'seq', 'due_at')
    redis.call('ZADD', qkey(topic, 'ready'), f[2], member(f[1], head))
  end
end

local function unlink_live(id)
  local f = redis.call('HMGET', mkey(id), 'topic', 'key', 'seq')
  redis.call('ZREM', qkey(f[1], 'key:' .. f[2]), id)
  redis.call('ZREM', qkey(f[1], 'ready'), member(f[3], id))
  redis.call('ZREM', qkey(f[1], 'live'), id)
  return f
end

local function remove_live(id)
  local f = unlink_live(id)
  redis.call('DEL', mkey(id))
  promote(f[1], f[2])
end

local function held(receipt, now)
  local id = string.match(receipt, '^([0-9a-f-]+)%.')
  if not id then return nil end
  local f = redis.call('HMGET', mkey(id), 'receipt', 'leased_until', 'dead')
  if f[1] ~= receipt or f[3] ~= '0' or tonumber(f[2]) <= tonumber(now) then return nil end
  return id
end

local function insert(id, topic, key, payload, created, available, dedup)
  local seq = tostring(redis.call('INCR', P .. 'q:seq'))
  redis.call('HSET', mkey(id), 'id', id, 'seq', seq, 'topic', topic, 'key', key,
    'payload', payload, 'created_at', created, 'available_at', available, 'due_at', available,
    'attempts', '0', 'last_error', '', 'dedup', dedup, 'receipt', '', 'leased_until', '0',
    'dead', '0')
  redis.call('ZADD', qkey(topic, 'live'), seq, id)
  redis.call('ZADD', qkey(topic, 'key:' .. key), seq, id)
  promote(topic, key)
end

local function claim_seen(key, now, expires, ttl_ms)
  local until_ = redis.call('GET', key)
  if until_ and tonumber(until_) > tonumber(now) then return false end
  redis.call('SET', key, expires, 'PX', ttl_ms)
  return true
end
"""

# ARGV: prefix, topic, now, leased_until, limit, receipt token
LEASE = (
    _PRELUDE
    + r"""
local ready = qkey(ARGV[2], 'ready')
local out = {}
for _, mem in ipairs(redis.call('ZRANGEBYSCORE', ready, '-inf', ARGV[3], 'LIMIT', 0, ARGV[5])) do
  local id = string.sub(mem, 18)
  local receipt = id .. '.' .. ARGV[6]
  redis.call('HINCRBY', mkey(id), 'attempts', 1)
  redis.call('HSET', mkey(id), 'receipt', receipt, 'leased_until', ARGV[4], 'due_at', ARGV[4])
  redis.call('ZADD', ready, ARGV[4], mem)
  out[#out + 1] = receipt
  out[#out + 1] = redis.call('HMGET', mkey(id), unpack(MSG_FIELDS))
end
return out
"""
)

# ARGV: prefix, receipt, now
ACK = (
    _PRELUDE
    + r"""
local id = held(ARGV[2], ARGV[3])
if not id then return 0 end
remove_live(id)
return 1
"""
)

# ARGV: prefix, receipt, now, available_at, error
RETRY = (
    _PRELUDE
    + r"""
local id = held(ARGV[2], ARGV[3])
if not id then return 0 end
redis.call('HSET', mkey(id), 'receipt', '', 'leased_until', '0', 'available_at', ARGV[4],
  'due_at', ARGV[4], 'last_error', ARGV[5])
local f = redis.call('HMGET', mkey(id), 'topic', 'seq')
redis.call('ZADD', qkey(f[1], 'ready'), ARGV[4], member(f[2], id))
return 1
"""
)

# ARGV: prefix, receipt, now, error
DEAD_LETTER = (
    _PRELUDE
    + r"""
local id = held(ARGV[2], ARGV[3])
if not id then return 0 end
local f = unlink_live(id)
redis.call('HSET', mkey(id), 'receipt', '', 'leased_until', '0', 'dead', '1',
  'last_error', ARGV[4])
redis.call('ZADD', qkey(f[1], 'dead'), f[3], id)
promote(f[1], f[2])
return 1
"""
)

# ARGV: prefix, topic, now. Only heads can have been attempted, and only those in 'ready' past
# now wait; a leased head's score is its lease's end, hence the check of leased_until.
HASTEN = (
    _PRELUDE
    + r"""
local ready = qkey(ARGV[2], 'ready')
local now = tonumber(ARGV[3])
local hastened = 0
for _, mem in ipairs(redis.call('ZRANGEBYSCORE', ready, '(' .. ARGV[3], '+inf')) do
  local id = string.sub(mem, 18)
  local f = redis.call('HMGET', mkey(id), 'attempts', 'leased_until')
  if tonumber(f[1]) > 0 and tonumber(f[2]) <= now then
    redis.call('HSET', mkey(id), 'available_at', ARGV[3], 'due_at', ARGV[3])
    redis.call('ZADD', ready, ARGV[3], mem)
    hastened = hastened + 1
  end
end
return hastened
"""
)

# ARGV: prefix, message id, now
REQUEUE = (
    _PRELUDE
    + r"""
local id = ARGV[2]
local f = redis.call('HMGET', mkey(id), 'topic', 'key', 'dead')
if f[3] ~= '1' then return 0 end
local seq = tostring(redis.call('INCR', P .. 'q:seq'))
redis.call('ZREM', qkey(f[1], 'dead'), id)
redis.call('HSET', mkey(id), 'seq', seq, 'dead', '0', 'attempts', '0', 'available_at', ARGV[3],
  'due_at', ARGV[3])
redis.call('ZADD', qkey(f[1], 'live'), seq, id)
redis.call('ZADD', qkey(f[1], 'key:' .. f[2]), seq, id)
promote(f[1], f[2])
return 1
"""
)

# ARGV: prefix, message id
DROP = (
    _PRELUDE
    + r"""
local id = ARGV[2]
local f = redis.call('HMGET', mkey(id), 'topic', 'dead')
if not f[1] then return 0 end
if f[2] == '1' then
  redis.call('ZREM', qkey(f[1], 'dead'), id)
  redis.call('DEL', mkey(id))
else
  remove_live(id)
end
return 1
"""
)

# ARGV: prefix, seen key, now, expires_at, ttl_ms
MARK_SEEN = (
    _PRELUDE
    + r"""
if claim_seen(ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then return 1 end
return 0
"""
)

# ARGV: prefix, seen key, now, expires_at, ttl_ms, id, key, payload, dedup, leased_until ('' for
# no lease), receipt. Returns 0 on a repeat, else the receipt of the lease or ''.
PUT_INBOUND = (
    _PRELUDE
    + r"""
if not claim_seen(ARGV[2], ARGV[3], ARGV[4], ARGV[5]) then return 0 end
local id = ARGV[6]
insert(id, 'inbound', ARGV[7], ARGV[8], ARGV[3], ARGV[3], ARGV[9])
if ARGV[10] == '' or redis.call('ZRANGE', qkey('inbound', 'key:' .. ARGV[7]), 0, 0)[1] ~= id then
  return ''
end
redis.call('HINCRBY', mkey(id), 'attempts', 1)
redis.call('HSET', mkey(id), 'receipt', ARGV[11], 'leased_until', ARGV[10], 'due_at', ARGV[10])
local seq = redis.call('HGET', mkey(id), 'seq')
redis.call('ZADD', qkey('inbound', 'ready'), ARGV[10], member(seq, id))
return ARGV[11]
"""
)

# ARGV: prefix, topic, key, payload, now, available_at, id
ENQUEUE = (
    _PRELUDE
    + r"""
insert(ARGV[7], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], '')
return 1
"""
)

# ARGV: prefix, lease key, owner, now, expires_at, ttl_ms
ACQUIRE_LEASE = r"""
local f = redis.call('HMGET', ARGV[2], 'owner', 'expires_at')
if f[1] and f[1] ~= ARGV[3] and tonumber(f[2]) > tonumber(ARGV[4]) then return 0 end
redis.call('HSET', ARGV[2], 'owner', ARGV[3], 'expires_at', ARGV[5])
redis.call('PEXPIRE', ARGV[2], ARGV[6])
return 1
"""

# ARGV: prefix, lease key, owner
RELEASE_LEASE = r"""
if redis.call('HGET', ARGV[2], 'owner') == ARGV[3] then redis.call('DEL', ARGV[2]) end
return 1
"""

# ARGV: prefix, now, plan (JSON, see RedisStorage.commit). Returns {'ok'} or the refusal;
# {'chain', claim id} when a claim's audit chain head moved after the plan was made.
COMMIT = (
    _PRELUDE
    + r"""
local now = ARGV[2]
local c = cjson.decode(ARGV[3])
local consumed = nil
if c.consume ~= '' then
  consumed = held(c.consume, now)
  if not consumed then return {'stale', c.consume} end
end
local versions = {}
for _, w in ipairs(c.claims) do
  local stored = versions[w.id]
  if stored == nil then stored = redis.call('HGET', P .. 'claim:' .. w.id, 'version') end
  if w.expected == '' then
    if stored then return {'conflict', w.id, '', stored} end
  elseif not stored then
    return {'missing', w.id}
  elseif tonumber(stored) ~= tonumber(w.expected)
      or tonumber(w.version) <= tonumber(w.expected) then
    return {'conflict', w.id, w.expected, stored}
  end
  versions[w.id] = w.version
end
local holders = {}
local function holder(k)
  if holders[k] == nil then holders[k] = redis.call('HGET', P .. 'invoices', k) end
  return holders[k]
end
for _, r in ipairs(c.releases) do
  if holder(r[1]) == r[2] then holders[r[1]] = false end
end
for _, l in ipairs(c.locks) do
  local h = holder(l[1])
  if h and h ~= l[2] then return {'invoice', l[1], h} end
  holders[l[1]] = l[2]
end
for _, h in ipairs(c.chains) do
  local head = redis.call('HGET', P .. 'audithead:' .. h[1], 'hash') or ''
  if redis.call('LLEN', P .. 'audit:' .. h[1]) ~= tonumber(h[2]) or head ~= h[3] then
    return {'chain', h[1]}
  end
end

if consumed then remove_live(consumed) end
for _, w in ipairs(c.claims) do
  local k = P .. 'claim:' .. w.id
  local old = redis.call('HMGET', k, 'applicant', 'status', 'pending')
  if old[1] then
    redis.call('ZREM', P .. 'idx:applicant:' .. old[1], w.id)
    redis.call('ZREM', P .. 'idx:status:' .. old[2], w.id)
    for _, a in ipairs(cjson.decode(old[3])) do
      redis.call('ZREM', P .. 'idx:pending:' .. a, w.id)
    end
  end
  redis.call('HSET', k, 'doc', w.doc, 'version', w.version, 'applicant', w.applicant,
    'status', w.status, 'created', w.created, 'updated', w.updated, 'pending', w.pending_json)
  redis.call('ZADD', P .. 'idx:applicant:' .. w.applicant, w.created, w.id)
  redis.call('ZADD', P .. 'idx:status:' .. w.status, w.updated, w.id)
  redis.call('ZADD', P .. 'idx:created', w.created, w.id)
  for _, a in ipairs(w.pending) do
    redis.call('ZADD', P .. 'idx:pending:' .. a, w.created, w.id)
  end
end
for _, a in ipairs(c.audit) do redis.call('RPUSH', P .. 'audit:' .. a[1], a[2]) end
for _, h in ipairs(c.chains) do
  redis.call('HSET', P .. 'audithead:' .. h[1], 'entries', h[4], 'hash', h[5])
end
for _, r in ipairs(c.releases) do
  if redis.call('HGET', P .. 'invoices', r[1]) == r[2] then
    redis.call('HDEL', P .. 'invoices', r[1])
  end
end
for _, l in ipairs(c.locks) do redis.call('HSET', P .. 'invoices', l[1], l[2]) end
for _, m in ipairs(c.messages) do insert(m[1], m[2], m[3], m[4], now, m[5], '') end
for _, v in ipairs(c.conversations) do
  if v[2] == '' then
    redis.call('DEL', P .. 'conv:' .. v[1])
  else
    redis.call('SET', P .. 'conv:' .. v[1], v[2], 'PX', v[3])
  end
end
return {'ok'}
"""
)

# ARGV: prefix, index key, order ('asc' | 'desc' | 'score'), min score, max score, limit.
# Reads an index and the documents it names in one step, so a list is one consistent snapshot.
LIST_CLAIMS = r"""
local ids
if ARGV[3] == 'score' then
  ids = redis.call('ZRANGEBYSCORE', ARGV[2], ARGV[4], ARGV[5], 'LIMIT', 0, ARGV[6])
elseif ARGV[3] == 'desc' then
  ids = redis.call('ZREVRANGE', ARGV[2], 0, tonumber(ARGV[6]) - 1)
else
  ids = redis.call('ZRANGE', ARGV[2], 0, tonumber(ARGV[6]) - 1)
end
local docs = {}
for _, id in ipairs(ids) do
  local doc = redis.call('HGET', ARGV[1] .. 'claim:' .. id, 'doc')
  if doc then docs[#docs + 1] = doc end
end
return docs
"""


# ARGV: prefix, claim id, copy id ('' for none), doc. Copies keep their place in the claim's list;
# a copy id maps to its index there, so writing it again replaces the copy in place.
CARD_COPY = r"""
local list = ARGV[1] .. 'cards:' .. ARGV[2]
local places = ARGV[1] .. 'cardpos:' .. ARGV[2]
if ARGV[3] ~= '' then
  local at = redis.call('HGET', places, ARGV[3])
  if at then
    redis.call('LSET', list, at, ARGV[4])
    return 0
  end
end
local length = redis.call('RPUSH', list, ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', places, ARGV[3], tostring(length - 1)) end
return 1
"""
