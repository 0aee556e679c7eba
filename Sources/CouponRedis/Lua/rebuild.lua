-- rebuild: see CampaignScripts.swift for KEYS, ARGV and the reply.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('SET', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'startsAt', ARGV[2], 'endsAt', ARGV[3], 'epoch', ARGV[5])
return 1
