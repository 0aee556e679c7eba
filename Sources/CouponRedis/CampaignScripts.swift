/// Scripts that create, reset and rebuild a campaign's keys, each one atomic step.
///
/// KEYS are those of ``IssueScript``: 1 meta, 2 issued, 3 winners, 4 outbox.
enum CampaignScripts {
    /// ARGV: 1 limit, 2 startsAt ms or "", 3 endsAt ms or "".
    /// Clears whatever an earlier campaign of the same id left and bumps the epoch,
    /// so instances holding a cached answer for the old one drop it. Returns the epoch.
    static let create = """
        local epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0') + 1
        redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
        redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'startsAt', ARGV[2], 'endsAt', ARGV[3], 'epoch', epoch)
        return epoch
        """

    /// No ARGV. Empties the campaign and bumps its epoch; returns the epoch, or -1 when the campaign has no keys.
    static let reset = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return -1
        end
        redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
        return redis.call('HINCRBY', KEYS[1], 'epoch', 1)
        """

    /// ARGV: 1 limit, 2 startsAt, 3 endsAt, 4 issued, 5 epoch (the database's).
    /// The last step of restoring keys lost by Redis (a restart without
    /// persistence) from the database: the winners are written first, then
    /// this sets the counter and the meta hash — only if meta is still
    /// missing, so a concurrent rebuild or a create wins. Until meta exists the
    /// issue script admits nobody. The outbox is not restored: its rows are in
    /// the database already.
    static let rebuild = """
        if redis.call('EXISTS', KEYS[1]) == 1 then
          return 0
        end
        redis.call('SET', KEYS[2], ARGV[4])
        redis.call('HSET', KEYS[1], 'limit', ARGV[1], 'startsAt', ARGV[2], 'endsAt', ARGV[3], 'epoch', ARGV[5])
        return 1
        """
}
