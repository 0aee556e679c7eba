/// The gate as one Lua script: every admission decision in one atomic step and one round trip,
/// for a batch of users of one campaign (see ``RequestBatcher``), in the order given.
///
/// Kept in Swift rather than as a bundle resource so the `coupongate` binary
/// is self-contained (a resource bundle must sit beside the executable).
///
/// KEYS (all share the hash tag `{c:<id>}`, so a campaign lives on one cluster shard):
///   1 meta     hash: limit, startsAt, endsAt (ms since 1970, "" when open-ended), epoch
///   2 issued   counter: sequence numbers handed out
///   3 winners  hash: userId → "<sequence>:<issuedAt ms>"
///   4 outbox   stream: one entry per coupon, read by the relay
/// ARGV: 1 campaign id, 2… the users, one or more
///
/// Returns `{"NOCAMPAIGN"}` when the campaign's keys are not in Redis (never created, or lost),
/// else `{"BATCH", epoch}` followed by three words per user, in ARGV's order:
///   "OK", seq, issuedAt        a new winner; counter, winner and outbox entry written together
///   "DUP", seq, issuedAt       the user had won already (earlier, or earlier in this batch)
///   "SOLDOUT", issued, ""      nothing written
///   "NOTOPEN", startsAt, ""    before the window; nothing written
///   "CLOSED", endsAt, ""       after the window; nothing written
enum IssueScript {
    static let source = """
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
        local reply = {'BATCH', epoch}
        for i = 2, #ARGV do
          local user = ARGV[i]
          local n = #reply
          local winner = redis.call('HGET', KEYS[3], user)
          if winner then
            local colon = string.find(winner, ':', 1, true)
            reply[n + 1], reply[n + 2], reply[n + 3] = 'DUP', string.sub(winner, 1, colon - 1), string.sub(winner, colon + 1)
          elseif shut then
            reply[n + 1], reply[n + 2], reply[n + 3] = shut, shutAt, ''
          elseif issued >= limit then
            reply[n + 1], reply[n + 2], reply[n + 3] = 'SOLDOUT', tostring(issued), ''
          else
            issued = redis.call('INCR', KEYS[2])
            redis.call('HSET', KEYS[3], user, issued .. ':' .. now)
            redis.call('XADD', KEYS[4], '*', 'campaign', ARGV[1], 'user', user, 'seq', issued, 'at', now, 'epoch', epoch)
            reply[n + 1], reply[n + 2], reply[n + 3] = 'OK', tostring(issued), tostring(now)
          end
        end
        return reply
        """
}
