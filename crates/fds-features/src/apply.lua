-- Applies one event to its entities' velocity state and returns the states: the
-- server half of fds-features' remote store (remote.rs documents KEYS and ARGV).
-- A line-for-line port of `Entity::apply` in window.rs over the same words: keep the
-- two in step (the cross-store tests compare every value on a simulated stream).
-- Lua numbers are doubles: every word is a u32 and every i64 is kept as two words,
-- so all arithmetic here is exact; timestamps are compared as doubles, exact for
-- times within 2^53 µs (about 285 000 years) of the epoch.

local TWO32 = 4294967296
local TWO31 = 2147483648
local U32_MAX = TWO32 - 1
local BUCKETS = 12
local MAX_BUCKET_ENTRIES = 2 * BUCKETS
local DISTINCT_CAP = 64
local NONE_HI = TWO31 -- i64::MIN as two words: 0x80000000, 0
local NONE = -9223372036854775808

local strides = ARGV[4]

local function stride(f)
  return string.byte(strides, f + 1) - 48
end

local function feature_of(h) return math.floor(h / 65536) end
local function entries_of(h) return h % 65536 end
local function header(f, n) return f * 65536 + n % 65536 end

-- How many buckets `bucket` lies before `current` (negative: after it).
local function age(current, bucket)
  local d = (current - bucket) % TWO32
  if d >= TWO31 then d = d - TWO32 end
  return d
end

local function expired(current, bucket) return age(current, bucket) >= BUCKETS end

local function join(hi, lo)
  if hi >= TWO31 then hi = hi - TWO32 end
  return hi * TWO32 + lo
end

-- Saturating i64 addition on (high, low) word pairs.
local function add64(ahi, alo, bhi, blo)
  local lo = alo + blo
  local carry = 0
  if lo >= TWO32 then
    lo = lo - TWO32
    carry = 1
  end
  local hi = (ahi + bhi + carry) % TWO32
  local an, bn = ahi >= TWO31, bhi >= TWO31
  if an == bn and (hi >= TWO31) ~= an then
    if an then return TWO31, 0 end
    return TWO31 - 1, U32_MAX
  end
  return hi, lo
end

-- Inserts `words` before position `pos` (1-based) of `w`.
local function insert(w, pos, words)
  local n, len = #words, #w
  for i = len, pos, -1 do w[i + n] = w[i] end
  for i = 1, n do w[pos + i - 1] = words[i] end
end

-- Appends one entry to the window whose header is at `pos`; returns its position.
local function append(w, pos, st, entry)
  local h = w[pos]
  local at = pos + 1 + entries_of(h) * st
  insert(w, at, entry)
  w[pos] = header(feature_of(h), entries_of(h) + 1)
  return at
end

local function put(w, i, words)
  for j = 1, #words do w[i + j - 1] = words[j] end
end

-- The entry for bucket `r` in the count / sum window at `pos`, made from `fresh`
-- when absent: an expired entry is reused first, then the window grows, and at the
-- entry limit the oldest gives way.
local function bucket_entry(w, pos, st, r, fresh)
  local n = entries_of(w[pos])
  local first, last = pos + 1, pos + 1 + (n - 1) * st
  for i = first, last, st do
    if w[i] == r then return i end
  end
  for i = first, last, st do
    if expired(r, w[i]) then
      put(w, i, fresh)
      return i
    end
  end
  if n < MAX_BUCKET_ENTRIES then return append(w, pos, st, fresh) end
  -- The oldest (the last of equals, as Rust's max_by_key).
  local best, best_age = first, nil
  for i = first, last, st do
    local a = age(r, w[i])
    if best_age == nil or a >= best_age then best, best_age = i, a end
  end
  put(w, best, fresh)
  return best
end

local function add_distinct(w, pos, r, hash)
  local n = entries_of(w[pos])
  local first, last = pos + 1, pos + 1 + (n - 1) * 2
  for i = first, last, 2 do
    if w[i] == hash then
      if age(r, w[i + 1]) > 0 then w[i + 1] = r end
      return
    end
  end
  for i = first, last, 2 do
    if expired(r, w[i + 1]) then
      w[i], w[i + 1] = hash, r
      return
    end
  end
  if n < DISTINCT_CAP then
    append(w, pos, 2, { hash, r })
    return
  end
  -- Full: the least recently seen value gives way, unless every value was seen
  -- after this (late) event.
  local best, best_age = nil, nil
  for i = first, last, 2 do
    local a = age(r, w[i + 1])
    if best_age == nil or a >= best_age then best, best_age = i, a end
  end
  if best ~= nil and best_age >= 0 then
    w[best], w[best + 1] = hash, r
  end
end

local function new_window(f, op, a, b, c)
  local one = header(f, 1)
  if op == 1 then return { one, a, 1 } end
  if op == 2 then return { one, a, b, c } end
  if op == 3 then return { one, b, a } end
  if op == 4 then return { one, a, b, NONE_HI, 0 } end
  return { one, a, b }
end

local function apply_at(w, pos, f, op, a, b, c)
  local first = pos + 1
  local n = entries_of(w[pos])
  if op == 1 then
    local i = bucket_entry(w, pos, 2, a, { a, 0 })
    w[i + 1] = math.min(w[i + 1] + 1, U32_MAX)
  elseif op == 2 then
    local i = bucket_entry(w, pos, 3, a, { a, 0, 0 })
    w[i + 1], w[i + 2] = add64(w[i + 1], w[i + 2], b, c)
  elseif op == 3 then
    add_distinct(w, pos, a, b)
  elseif op == 4 then
    if n == 0 then
      append(w, pos, 4, { a, b, NONE_HI, 0 })
      return
    end
    local t = join(a, b)
    local latest, previous = join(w[first], w[first + 1]), join(w[first + 2], w[first + 3])
    if t > latest then
      w[first + 2], w[first + 3] = w[first], w[first + 1]
      w[first], w[first + 1] = a, b
    elseif t < latest and (previous == NONE or t > previous) then
      w[first + 2], w[first + 3] = a, b
    end
  else
    if n == 0 then
      append(w, pos, 2, { a, b })
      return
    end
    local t = join(a, b)
    local earliest = join(w[first], w[first + 1])
    -- An earliest event beyond the horizon reads as never; restart from this one.
    if t < earliest or t - earliest > c then
      w[first], w[first + 1] = a, b
    end
  end
end

-- Applies `count` changes starting at ARGV index `arg` to the words `w`.
local function apply(w, arg, count)
  local pos = 1
  for k = 0, count - 1 do
    local j = arg + k * 5
    local f, op = tonumber(ARGV[j]), tonumber(ARGV[j + 1])
    local a, b, c = tonumber(ARGV[j + 2]), tonumber(ARGV[j + 3]), tonumber(ARGV[j + 4])
    while w[pos] ~= nil do
      local h = w[pos]
      if feature_of(h) >= f then break end
      pos = pos + 1 + entries_of(h) * stride(feature_of(h))
    end
    if w[pos] ~= nil and feature_of(w[pos]) == f then
      apply_at(w, pos, f, op, a, b, c)
    else
      insert(w, pos, new_window(f, op, a, b, c))
    end
  end
end

local CHUNK = 128
local CHUNK_FORMAT = '<' .. string.rep('I4', CHUNK)

local function decode(s)
  local w = {}
  local words = #s / 4
  local at = 1
  while #w < words do
    local k = math.min(CHUNK, words - #w)
    local got = { struct.unpack(k == CHUNK and CHUNK_FORMAT or '<' .. string.rep('I4', k), s, at) }
    at = got[k + 1]
    for i = 1, k do w[#w + 1] = got[i] end
  end
  return w
end

local function encode(w)
  local parts = {}
  local i = 1
  while i <= #w do
    local k = math.min(CHUNK, #w - i + 1)
    parts[#parts + 1] = struct.pack(k == CHUNK and CHUNK_FORMAT or '<' .. string.rep('I4', k), unpack(w, i, i + k - 1))
    i = i + k
  end
  return table.concat(parts)
end

local applying = ARGV[1] == '1'
local entity_ttl, seen_ttl = ARGV[2], ARGV[3]
local out = { 0 }
if applying and redis.call('SET', KEYS[1], '1', 'NX', 'PX', seen_ttl) == false then
  -- Redelivered: applied once already (by this replica or another). Read only.
  applying = false
  out[1] = 1
end
local arg = 5
for e = 2, #KEYS do
  local count = tonumber(ARGV[arg])
  local state = redis.call('GET', KEYS[e])
  if applying and count > 0 then
    local w = decode(state or '')
    apply(w, arg + 1, count)
    state = encode(w)
    redis.call('SET', KEYS[e], state, 'PX', entity_ttl)
  end
  out[e] = state or ''
  arg = arg + 1 + count * 5
end
return out
