-- reset: see CampaignScripts.swift for KEYS, ARGV and the reply.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
return redis.call('HINCRBY', KEYS[1], 'epoch', 1)
