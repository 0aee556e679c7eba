import CoreMetrics
import CouponCore
import Foundation
import Logging
import Metrics
import RESP
import ServiceLifecycle
import Synchronization

/// Moves issued coupons from the Redis outbox streams into the database of record, or to
/// a Kafka topic (its ``OutboxSink``).
///
/// At-least-once from Redis, exactly-once rows in the database: entries are
/// read with a consumer group, inserted with `ON CONFLICT DO NOTHING` on the
/// two unique keys (or produced to Kafka and acknowledged by the broker), and
/// acknowledged only after the commit. An entry a dead
/// relay left pending is reclaimed with XAUTOCLAIM once it has been idle for
/// `claimAfter`. Several relays may run at once, each with its own consumer
/// name. While the database is down a batch is retried with backoff and
/// stays pending — nothing is acknowledged, nothing is lost. An entry that
/// cannot be parsed goes to the campaign's dead-letter stream with the reason.
public struct OutboxRelay: Service {
    public struct Configuration: Sendable {
        /// Entries read per stream per round. An entry holds the coupons of one gate-script
        /// call (up to 64), so a round writes at most 6,400 coupons in one transaction.
        public var batchSize = 100
        /// Pause when a round found nothing to do.
        public var idleDelay: Duration = .milliseconds(20)
        /// An entry pending this long with another consumer is taken over.
        public var claimAfter: Duration = .seconds(15)
        /// How often the list of campaigns is reread from the database.
        public var campaignRefresh: Duration = .seconds(2)
        /// How often each stream is trimmed of acknowledged entries.
        public var trimInterval: Duration = .seconds(5)
        /// Backoff bounds while the database refuses writes.
        public var retryDelay: (first: Duration, maximum: Duration) = (.milliseconds(100), .seconds(5))

        public init() {}
    }

    let redis: any RedisCommandSender
    /// Where the campaigns are listed (the database of record).
    let store: any CouponStore
    let sink: any OutboxSink
    /// When the database write in progress began (ns on the continuous clock), 0 when none is.
    private let writeStarted = WriteClock()
    let logger: Logger
    let consumer: String
    let configuration: Configuration
    let metrics: RelayMetrics

    public init(
        redis: any RedisCommandSender,
        store: any CouponStore,
        sink: (any OutboxSink)? = nil,
        logger: Logger,
        configuration: Configuration = .init(),
        metrics: RelayMetrics = .init()
    ) {
        self.redis = redis
        self.store = store
        self.sink = sink ?? StoreOutboxSink(store: store)
        self.logger = logger
        self.configuration = configuration
        self.metrics = metrics
        self.consumer = "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: .min ... .max))"
    }

    public func run() async {
        var state = State()
        self.logger.info("Relay started", metadata: ["consumer": "\(self.consumer)", "sink": "\(self.sink.name)"])
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let worked = await self.round(&state)
            if !worked {
                // Sleeps are cut short by shutdown; a batch in progress is always finished first.
                await sleepUnlessShuttingDown(self.configuration.idleDelay)
            }
        }
        self.logger.info("Relay stopped", metadata: ["consumer": "\(self.consumer)"])
    }

    struct State {
        var campaigns: [CampaignID] = []
        var campaignsReadAt: ContinuousClock.Instant?
        var groupsCreated: Set<CampaignID> = []
        var lastClaim: [CampaignID: ContinuousClock.Instant] = [:]
        var lastTrim: [CampaignID: ContinuousClock.Instant] = [:]
        /// Campaigns where this consumer may hold delivered, unacknowledged entries
        /// (at start, and after a failed round: a read whose reply was lost still delivered).
        var ownPendingUnknown: Set<CampaignID> = []
    }

    /// One pass over every campaign; true when it relayed anything.
    func round(_ state: inout State) async -> Bool {
        let now = ContinuousClock.now
        if state.campaignsReadAt.map({ now - $0 >= self.configuration.campaignRefresh }) ?? true {
            do {
                state.campaigns = try await self.store.campaigns().map(\.id)
                state.campaignsReadAt = now
            } catch {
                self.logger.warning("Cannot read the campaigns from the database", metadata: ["error": "\(error)"])
                if state.campaigns.isEmpty { return false }
            }
        }
        var worked = false
        for campaign in state.campaigns where !Task.isShuttingDownGracefully {
            do {
                worked = try await self.relay(campaign, state: &state) || worked
            } catch let error as RedisClientError where error.code == .serverError && error.message.hasPrefix("NOGROUP") {
                // A reset deleted the outbox with its group, and the gate script has begun a new stream: create
                // the group again, from the stream's first entry, so nothing written since the reset is skipped.
                state.groupsCreated.remove(campaign)
                worked = true
                self.logger.notice(
                    "The outbox's consumer group is gone (the campaign was reset); creating it again",
                    metadata: ["campaign": "\(campaign)"]
                )
            } catch {
                state.ownPendingUnknown.insert(campaign)
                self.logger.warning("Relaying failed; will retry", metadata: ["campaign": "\(campaign)", "error": "\(error)"])
            }
        }
        return worked
    }

    /// Relays what one campaign's outbox holds: reclaimed entries first, then new ones.
    func relay(_ campaign: CampaignID, state: inout State) async throws -> Bool {
        let keys = RedisKeys(campaign)
        if !state.groupsCreated.contains(campaign) {
            try await self.createGroup(keys)
            state.groupsCreated.insert(campaign)
            state.ownPendingUnknown.insert(campaign)
        }
        let now = ContinuousClock.now
        var entries: [OutboxEntry] = []
        if state.lastClaim[campaign].map({ now - $0 >= self.configuration.claimAfter / 2 }) ?? true {
            state.lastClaim[campaign] = now
            entries = try await self.claim(keys)
        }
        if entries.isEmpty, state.ownPendingUnknown.contains(campaign) {
            // ID 0 rereads what was delivered to this consumer and not acknowledged.
            entries = try await self.read(keys, from: "0")
            if entries.isEmpty { state.ownPendingUnknown.remove(campaign) }
        }
        if entries.isEmpty {
            entries = try await self.read(keys, from: ">")
        }
        if !entries.isEmpty {
            try await self.commit(entries, keys: keys)
        }
        if state.lastTrim[campaign].map({ now - $0 >= self.configuration.trimInterval }) ?? true {
            state.lastTrim[campaign] = now
            try await self.trim(keys)
        }
        return !entries.isEmpty
    }

    /// XREADGROUP from `id`: `>` for new entries, `0` for this consumer's pending ones.
    func read(_ keys: RedisKeys, from id: String) async throws -> [OutboxEntry] {
        let reply = try await self.redis.send(
            RedisCommand(
                "XREADGROUP",
                [
                    "GROUP", .string(RedisKeys.relayGroup), .string(self.consumer), "COUNT", .int(Int64(self.configuration.batchSize)),
                    "STREAMS", .string(keys.outbox), .string(id),
                ]
            )
        )
        return OutboxEntry.entries(inReadReply: reply)
    }

    func createGroup(_ keys: RedisKeys) async throws {
        do {
            _ = try await self.redis.send(RedisCommand("XGROUP", ["CREATE", .string(keys.outbox), .string(RedisKeys.relayGroup), "0", "MKSTREAM"]))
        } catch let error as RedisClientError where error.code == .serverError && error.message.hasPrefix("BUSYGROUP") {
            // Another relay (or an earlier run) created it.
        }
    }

    /// Entries another consumer left pending for longer than `claimAfter`.
    func claim(_ keys: RedisKeys) async throws -> [OutboxEntry] {
        let reply = try await self.redis.send(
            RedisCommand(
                "XAUTOCLAIM",
                [
                    .string(keys.outbox), .string(RedisKeys.relayGroup), .string(self.consumer),
                    .int(self.configuration.claimAfter.milliseconds), "0-0", "COUNT",
                    .int(Int64(self.configuration.batchSize)),
                ]
            )
        )
        guard let parts = reply.array, parts.count >= 2 else { return [] }
        let entries = OutboxEntry.entries(in: parts[1])
        if !entries.isEmpty {
            self.logger.notice(
                "Reclaimed entries a stopped relay left pending",
                metadata: ["campaign": "\(keys.campaign)", "entries": "\(entries.count)"]
            )
        }
        return entries
    }

    /// Writes the coupons, then acknowledges them. Unreadable entries go to the dead-letter stream first.
    func commit(_ entries: [OutboxEntry], keys: RedisKeys) async throws {
        var writes: [RelayedCoupon] = []
        var dead: [(OutboxEntry, OutboxEntryError)] = []
        for entry in entries {
            do {
                let (coupons, epoch) = try entry.coupons(expecting: keys.campaign)
                writes += coupons.map { RelayedCoupon(coupon: $0, epoch: epoch) }
            } catch {
                dead.append((entry, error))
            }
        }
        self.metrics.batchSize.record(writes.count)
        for (entry, error) in dead {
            var arguments: [RESPArgument] = [.string(keys.deadLetters), "*", "entry", .string(entry.id), "reason", .string(error.description)]
            for (field, value) in entry.fields.sorted(by: { $0.key < $1.key }) {
                arguments += [.string("field.\(field)"), .string(value)]
            }
            _ = try await self.redis.send(RedisCommand("XADD", arguments))
            self.metrics.deadLetters.increment()
            self.logger.error(
                "Outbox entry cannot be read; moved to the dead-letter stream",
                metadata: ["campaign": "\(keys.campaign)", "entry": "\(entry.id)", "reason": "\(error)"]
            )
        }
        try await self.write(writes)
        let ids = entries.map { RESPArgument.string($0.id) }
        _ = try await self.redis.send(RedisCommand("XACK", [.string(keys.outbox), .string(RedisKeys.relayGroup)] + ids))
    }

    /// Delivers one batch to the sink, retrying with backoff while it refuses. On
    /// shutdown it gives up: the entries stay pending and are reclaimed later.
    func write(_ writes: [RelayedCoupon]) async throws {
        guard !writes.isEmpty else { return }
        var delay = self.configuration.retryDelay.first
        var attempt = 1
        while true {
            do {
                let start = ContinuousClock.now
                self.writeStarted.begin()
                defer { self.writeStarted.end() }
                try await self.sink.deliver(writes)
                self.metrics.insert.record(duration: ContinuousClock.now - start)
                if attempt > 1 { self.logger.notice("The \(self.sink.name) accepts writes again", metadata: ["attempts": "\(attempt)"]) }
                return
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { throw error }
                self.metrics.writeErrors.increment()
                self.logger.error(
                    "Writing to the \(self.sink.name) failed; retrying",
                    metadata: ["coupons": "\(writes.count)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                await sleepUnlessShuttingDown(delay)
                delay = min(delay * 2, self.configuration.retryDelay.maximum)
                attempt += 1
            }
        }
    }

    /// Removes acknowledged entries only: everything older than both the
    /// group's last delivered entry and the oldest pending one.
    ///
    /// The last delivered id is read first: whatever is delivered after that
    /// read is newer than it, so the pending list read next covers every
    /// unacknowledged entry that the trim could reach.
    func trim(_ keys: RedisKeys) async throws {
        let groups = try await self.redis.send(RedisCommand("XINFO", ["GROUPS", .string(keys.outbox)]))
        guard let delivered = Self.lastDelivered(in: groups).flatMap(StreamID.init), delivered != StreamID.zero else { return }
        let pending = try await self.redis.send(RedisCommand("XPENDING", [.string(keys.outbox), .string(RedisKeys.relayGroup)]))
        var minimum = delivered
        if let summary = pending.array, summary.count >= 2, let count = summary[0].int, count > 0,
            let oldest = summary[1].string.flatMap(StreamID.init)
        {
            minimum = min(minimum, oldest)
        }
        _ = try await self.redis.send(RedisCommand("XTRIM", [.string(keys.outbox), "MINID", .string(minimum.description)]))
    }

    /// The relay group's `last-delivered-id` in an XINFO GROUPS answer.
    static func lastDelivered(in groups: RESPValue) -> String? {
        relayGroup(in: groups)?["last-delivered-id"]?.string
    }

    /// The relay group's fields in an XINFO GROUPS answer (a RESP3 map or a RESP2 flat list per group).
    static func relayGroup(in groups: RESPValue) -> [String: RESPValue]? {
        for group in groups.array ?? [] {
            var fields: [String: RESPValue] = [:]
            if case .map(let map) = group {
                for (key, value) in map { if let key = key.string { fields[key] = value } }
            } else if let flat = group.array {
                var index = 0
                while index + 1 < flat.count {
                    if let key = flat[index].string { fields[key] = flat[index + 1] }
                    index += 2
                }
            }
            if fields["name"]?.string == RedisKeys.relayGroup { return fields }
        }
        return nil
    }
}

extension Duration {
    /// Whole milliseconds, as Redis takes idle times.
    var milliseconds: Int64 {
        self.components.seconds * 1000 + self.components.attoseconds / 1_000_000_000_000_000
    }
}

extension OutboxRelay {
    /// How long the database write in progress has taken; nil when none is in progress.
    public var writeInProgressFor: Duration? {
        self.writeStarted.elapsed
    }
}

/// When a write began, readable from another task (the relay's watchdog).
final class WriteClock: Sendable {
    private let origin = ContinuousClock.now
    private let startedAt = Atomic<Int64>(0)

    func begin() {
        self.startedAt.store(max(1, Self.nanoseconds(ContinuousClock.now - self.origin)), ordering: .relaxed)
    }

    func end() {
        self.startedAt.store(0, ordering: .relaxed)
    }

    var elapsed: Duration? {
        let started = self.startedAt.load(ordering: .relaxed)
        guard started != 0 else { return nil }
        return (ContinuousClock.now - self.origin) - .nanoseconds(started)
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
