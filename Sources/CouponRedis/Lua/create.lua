-- create: see CampaignScripts.swift for KEYS, ARGV and the reply.
local epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0') + 1
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'startsAt', ARGV[2], 'endsAt', ARGV[3], 'epoch', epoch)
return epoch
