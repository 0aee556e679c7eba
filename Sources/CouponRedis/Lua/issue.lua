-- The gate: see IssueScript.swift for KEYS, ARGV and the reply.
local meta = redis.call('HMGET', KEYS[1], 'limit', 'startsAt', 'endsAt', 'epoch')
if not meta[1] then
  return {'NOCAMPAIGN'}
end
local epoch = meta[4] or '0'
local limit = tonumber(meta[1])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local shut, shutAt = nil, ''
if meta[2] and meta[2] ~= '' and now < tonumber(meta[2]) then
  shut, shutAt = 'NOTOPEN', meta[2]
elseif meta[3] and meta[3] ~= '' and now >= tonumber(meta[3]) then
  shut, shutAt = 'CLOSED', meta[3]
end
local issued = tonumber(redis.call('GET', KEYS[2]) or '0')
local userRate, clientRate = tonumber(ARGV[2]), tonumber(ARGV[3])
local tag = string.sub(KEYS[1], 1, string.len(KEYS[1]) - 4)  -- '{c:<id>}:'
-- Takes a token from the bucket at key; 0, or the milliseconds until there is one.
local function take(key, rate)
  local burst = math.max(1, rate)
  local bucket = redis.call('HMGET', key, 't', 'at')
  local tokens = tonumber(bucket[1]) or burst
  local at = tonumber(bucket[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
  if tokens < 1 then
    return math.ceil((1 - tokens) * 1000 / rate)
  end
  redis.call('HSET', key, 't', tostring(tokens - 1), 'at', now)
  redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
  return 0
end
local reply = {'BATCH', epoch}
local first = issued
-- This call's winners: user → winners-hash value, the HSET's arguments, the entry's users.
local won, wins, users = {}, {}, {}
for i = 4, #ARGV, 3 do
  local user, client, key = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local n = #reply
  local wait = 0
  local owner = key ~= '-' and redis.call('HGET', KEYS[5], key)
  if owner then
    wait = -1
  elseif clientRate > 0 and client ~= '-' then
    wait = take(tag .. 'rl:a:' .. client, clientRate)
  end
  if wait == 0 and userRate > 0 then
    wait = take(tag .. 'rl:u:' .. user, userRate)
  end
  local winner = wait <= 0 and (won[user] or redis.call('HGET', KEYS[3], user))
  if owner and owner ~= user then
    reply[n + 1], reply[n + 2], reply[n + 3] = 'KEYUSED', '', ''
  elseif owner and winner then
    local colon = string.find(winner, ':', 1, true)
    reply[n + 1], reply[n + 2], reply[n + 3] = 'AGAIN', string.sub(winner, 1, colon - 1), string.sub(winner, colon + 1)
  elseif wait > 0 then
    reply[n + 1], reply[n + 2], reply[n + 3] = 'LIMITED', tostring(wait), ''
  elseif winner then
    local colon = string.find(winner, ':', 1, true)
    reply[n + 1], reply[n + 2], reply[n + 3] = 'DUP', string.sub(winner, 1, colon - 1), string.sub(winner, colon + 1)
  elseif shut then
    reply[n + 1], reply[n + 2], reply[n + 3] = shut, shutAt, ''
  elseif issued >= limit then
    reply[n + 1], reply[n + 2], reply[n + 3] = 'SOLDOUT', tostring(issued), ''
  else
    issued = issued + 1
    local value = issued .. ':' .. now
    won[user] = value
    wins[#wins + 1], wins[#wins + 2] = user, value
    users[#users + 1] = user
    if key ~= '-' then
      redis.call('HSET', KEYS[5], key, user)
    end
    reply[n + 1], reply[n + 2], reply[n + 3] = 'OK', tostring(issued), tostring(now)
  end
end
if issued > first then
  -- In slices: unpack passes its values on Lua's C stack, which is bounded.
  for i = 1, #wins, 1000 do
    redis.call('HSET', KEYS[3], unpack(wins, i, math.min(i + 999, #wins)))
  end
  redis.call('SET', KEYS[2], issued)
  redis.call('XADD', KEYS[4], '*', 'campaign', ARGV[1], 'epoch', epoch, 'at', now, 'first', first + 1, 'users', table.concat(users, ','))
end
return reply
