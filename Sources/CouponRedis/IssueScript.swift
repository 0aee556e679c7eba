/// The gate as one Lua script: every admission decision in one atomic step and one round trip.
///
/// Kept in Swift rather than as a bundle resource so the `coupongate` binary
/// is self-contained (a resource bundle must sit beside the executable).
///
/// KEYS (all share the hash tag `{c:<id>}`, so a campaign lives on one cluster shard):
///   1 meta     hash: limit, startsAt, endsAt (ms since 1970, "" when open-ended), epoch
///   2 issued   counter: sequence numbers handed out
///   3 winners  hash: userId → "<sequence>:<issuedAt ms>"
///   4 outbox   stream: one entry per coupon, read by the relay
/// ARGV: 1 userId, 2 campaign id
///
/// Returns one of:
///   {"OK", seq, issuedAt, epoch}   a new winner; counter, winner and outbox entry written together
///   {"DUP", seq, issuedAt, epoch}  the user had won already
///   {"SOLDOUT", issued, epoch}     nothing written
///   {"NOTOPEN", startsAt, epoch}   before the window; nothing written
///   {"CLOSED", endsAt, epoch}      after the window; nothing written
///   {"NOCAMPAIGN"}                 the campaign's keys are not in Redis (never created, or lost)
enum IssueScript {
    static let source = """
        local winner = redis.call('HGET', KEYS[3], ARGV[1])
        local meta = redis.call('HMGET', KEYS[1], 'limit', 'startsAt', 'endsAt', 'epoch')
        if not meta[1] then
          return {'NOCAMPAIGN'}
        end
        local epoch = meta[4] or '0'
        if winner then
          local colon = string.find(winner, ':', 1, true)
          return {'DUP', string.sub(winner, 1, colon - 1), string.sub(winner, colon + 1), epoch}
        end
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        if meta[2] and meta[2] ~= '' and now < tonumber(meta[2]) then
          return {'NOTOPEN', meta[2], epoch}
        end
        if meta[3] and meta[3] ~= '' and now >= tonumber(meta[3]) then
          return {'CLOSED', meta[3], epoch}
        end
        local issued = tonumber(redis.call('GET', KEYS[2]) or '0')
        if issued >= tonumber(meta[1]) then
          return {'SOLDOUT', tostring(issued), epoch}
        end
        local seq = redis.call('INCR', KEYS[2])
        redis.call('HSET', KEYS[3], ARGV[1], seq .. ':' .. now)
        redis.call('XADD', KEYS[4], '*', 'campaign', ARGV[2], 'user', ARGV[1], 'seq', seq, 'at', now, 'epoch', epoch)
        return {'OK', tostring(seq), tostring(now), epoch}
        """
}
