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
///   4 outbox   stream: one entry per call that issued coupons, read by the relay (see below)
///   5 idem     hash: idempotency key → the winner whose apply carried it
/// ARGV: 1 campaign id, 2 applies per second per user, 3 per client address ("0": no limit),
///   then three per user, one or more users: the user id, the client address ("-": none),
///   the idempotency key ("-": none)
///
/// An idempotency key is recorded with the winner it won for. The same key again is answered
/// before anything else: for that user, the original win ("AGAIN"), without touching the rate
/// limits; for another user, "KEYUSED". So a request repeated after a lost answer (by the
/// client, or by the server after an ambiguous Redis failure) gets its 200 back, not a 409.
/// Keys of requests that did not win are not recorded.
///
/// Rate limits are token buckets (burst = rate, at least 1) in hashes beside the campaign's
/// keys, `{c:<id>}:rl:u:<user>` and `{c:<id>}:rl:a:<client>`: under the campaign's hash tag,
/// so they stay on its cluster shard, and checked before anything else for that user.
///
/// The coupons one call issues have consecutive sequences and one issue time, so they go out as
/// one outbox entry: `campaign`, `epoch`, `at`, `first` (the first sequence) and `users` (their
/// ids, comma-separated, in sequence order). The counter and the winners hash are written once
/// per call too. Per winner that halves Redis's work (an `XADD`, an `INCR` and an `HSET` each,
/// and their append-only-file records, cost about as much as everything else together), and the
/// entry is still written in the same atomic step as the counter. ``OutboxEntry`` also reads
/// the one-coupon entries (`user`, `seq`) earlier versions wrote.
///
/// Returns `{"NOCAMPAIGN"}` when the campaign's keys are not in Redis (never created, or lost),
/// else `{"BATCH", epoch}` followed by three words per user, in ARGV's order:
///   "OK", seq, issuedAt        a new winner; counter, winner and outbox entry written together
///   "AGAIN", seq, issuedAt     the win this idempotency key already got for this user; nothing written
///   "KEYUSED", "", ""          the idempotency key won for another user; nothing written
///   "DUP", seq, issuedAt       the user had won already (earlier, or earlier in this call)
///   "SOLDOUT", issued, ""      nothing written
///   "NOTOPEN", startsAt, ""    before the window; nothing written
///   "CLOSED", endsAt, ""       after the window; nothing written
///   "LIMITED", waitMs, ""      over a rate limit; only the bucket written
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
        """
}
