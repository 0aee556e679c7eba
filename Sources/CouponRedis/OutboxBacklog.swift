import CouponCore
import RESP

/// What the relays still have to move for one campaign: entries in its outbox (each the coupons
/// of one gate call) not yet acknowledged (delivered and pending, or not yet delivered), the age
/// of the oldest, and the entries in its dead-letter stream. Readable from any process that
/// reaches Redis, so the API instances report the relays' lag without asking them.
public struct OutboxBacklog: Sendable, Equatable {
    public var unacknowledged: Int
    /// Age of the oldest unacknowledged entry (by its stream id's time against Redis' clock).
    public var oldestAgeMilliseconds: Int64?
    public var deadLetters: Int

    public static let empty = OutboxBacklog(unacknowledged: 0, oldestAgeMilliseconds: nil, deadLetters: 0)

    public init(unacknowledged: Int, oldestAgeMilliseconds: Int64?, deadLetters: Int) {
        self.unacknowledged = unacknowledged
        self.oldestAgeMilliseconds = oldestAgeMilliseconds
        self.deadLetters = deadLetters
    }

    /// Adds another campaign's backlog: counts add up, the oldest age is the maximum.
    public mutating func add(_ other: OutboxBacklog) {
        unacknowledged += other.unacknowledged
        deadLetters += other.deadLetters
        if let age = other.oldestAgeMilliseconds {
            oldestAgeMilliseconds = max(oldestAgeMilliseconds ?? age, age)
        }
    }

    public static func measure(_ campaign: CampaignID, redis: any RedisCommandSender) async throws -> OutboxBacklog {
        let keys = RedisKeys(campaign)
        let dead = try await redis.send(RedisCommand("XLEN", [.string(keys.deadLetters)])).int ?? 0
        let length = try await redis.send(RedisCommand("XLEN", [.string(keys.outbox)])).int ?? 0
        guard length > 0 else { return OutboxBacklog(unacknowledged: 0, oldestAgeMilliseconds: nil, deadLetters: Int(dead)) }

        var oldest: StreamID?
        var count = 0
        let groups = try await redis.send(RedisCommand("XINFO", ["GROUPS", .string(keys.outbox)]))
        if let group = OutboxRelay.relayGroup(in: groups) {
            // Delivered and not acknowledged.
            let pending = try await redis.send(RedisCommand("XPENDING", [.string(keys.outbox), .string(RedisKeys.relayGroup)]))
            if let summary = pending.array, summary.count >= 2, let pendingCount = summary[0].int, pendingCount > 0 {
                count += Int(pendingCount)
                oldest = summary[1].string.flatMap(StreamID.init)
            }
            // Not delivered yet: after the last delivered id. Redis 7 counts them ("lag").
            let delivered = group["last-delivered-id"]?.string.flatMap(StreamID.init) ?? .zero
            let next = try await redis.send(
                RedisCommand("XRANGE", [.string(keys.outbox), .string("(\(delivered.description)"), "+", "COUNT", 1])
            )
            if let first = next.array?.first?.array?.first?.string.flatMap(StreamID.init) {
                oldest = min(oldest ?? first, first)
                count += Int(group["lag"]?.int ?? 1)
            }
        } else {
            // No relay has started on this campaign: everything is waiting.
            count = Int(length)
            let first = try await redis.send(RedisCommand("XRANGE", [.string(keys.outbox), "-", "+", "COUNT", 1]))
            oldest = first.array?.first?.array?.first?.string.flatMap(StreamID.init)
        }

        var backlog = OutboxBacklog(unacknowledged: count, oldestAgeMilliseconds: nil, deadLetters: Int(dead))
        // The age against Redis' clock, the one that stamped the entry ids.
        if let oldest, let time = try await redis.send(RedisCommand("TIME", [])).array, time.count == 2,
            let seconds = time[0].string.flatMap(Int64.init), let micros = time[1].string.flatMap(Int64.init)
        {
            backlog.oldestAgeMilliseconds = max(0, seconds * 1000 + micros / 1000 - Int64(oldest.milliseconds))
        }
        return backlog
    }
}
