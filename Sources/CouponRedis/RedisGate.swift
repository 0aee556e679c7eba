import CoreMetrics
import CouponCore
import Logging
import Metrics
import RESP
import Synchronization

/// The gate of distributed mode: admission in Redis, one script call per batch of applies.
///
/// Redis holds the live state (winners, counter, outbox); the database
/// (``CouponStore``) is the system of record for campaigns and, through the
/// relay, for coupons. Sold-out campaigns are answered from ``SoldOutCache``
/// without a Redis call. Any Redis failure becomes a 503 problem
/// (``CouponError/storeUnavailable``) within the client's command deadline.
public final class RedisGate: CouponGate {
    let redis: any RedisCommandSender
    let store: any CouponStore
    let logger: Logger
    let soldOut = SoldOutCache()
    private let campaigns = Mutex<[CampaignID: Campaign]>([:])

    static let issue = LuaScript(name: "issue", source: IssueScript.source)
    static let create = LuaScript(name: "create", source: CampaignScripts.create)
    static let reset = LuaScript(name: "reset", source: CampaignScripts.reset)
    static let rebuild = LuaScript(name: "rebuild", source: CampaignScripts.rebuild)

    /// Winners written per command while a campaign is rebuilt or its winners are loaded.
    static let chunkSize = 1_000

    /// The most users one gate-script call carries: Redis runs a script to its end before
    /// anything else, so a batch is kept to well under a millisecond of its time.
    static let maxBatch = 64

    let metrics: RedisGateMetrics
    /// Applies per second per user and per client address, enforced in the gate script; 0: none.
    let userRate: Double
    let clientRate: Double
    /// The rates as the script's arguments, made once rather than per call.
    private let rateArguments: (user: RESPArgument, client: RESPArgument)
    /// Replicas a win's write must reach (`WAIT`) before it is answered; 0: none.
    let waitReplicas: Int
    /// How long `WAIT` may take; kept inside the Redis command deadline.
    static let waitTimeoutMilliseconds: Int64 = 500
    /// Concurrent applies to one campaign share a gate-script call (group commit).
    private let batcher = RequestBatcher<CampaignID, Applicant, IssueAnswer>(maxBatch: RedisGate.maxBatch)

    /// One apply in a batch: the user, for per-client limits the client's address, and the
    /// request's idempotency key, if it has one.
    struct Applicant: Sendable {
        var user: UserID
        var client: String?
        var key: String?
    }

    /// - Parameters:
    ///   - userRate: applies per second (and burst) one user may make per campaign; nil: no limit.
    ///   - clientRate: the same per client address.
    public init(
        redis: any RedisCommandSender,
        store: any CouponStore,
        logger: Logger,
        metrics: RedisGateMetrics = .init(),
        userRate: Double? = nil,
        clientRate: Double? = nil,
        waitReplicas: Int = 0
    ) {
        self.redis = redis
        self.store = store
        self.logger = logger
        self.metrics = metrics
        self.userRate = userRate ?? 0
        self.clientRate = clientRate ?? 0
        self.rateArguments = (.string(Self.rateText(userRate ?? 0)), .string(Self.rateText(clientRate ?? 0)))
        self.waitReplicas = max(0, waitReplicas)
    }

    // MARK: Apply

    public func isKnownSoldOut(user: UserID, campaign: CampaignID) -> Bool {
        guard self.soldOut.answer(for: user, in: campaign) == .soldOut else { return false }
        // Counted as apply counts the answers it gives from the cache.
        self.metrics.localSoldOut.increment()
        return true
    }

    public func apply(user: UserID, campaign: CampaignID, client: String?, idempotencyKey: String?) async throws -> ApplyOutcome {
        // Answered from memory, and not rate limited: a sold-out answer costs less than the check.
        // A winner's keyed request goes to Redis, which knows whether the key is the one that won.
        if let answer = self.soldOut.answer(for: user, in: campaign) {
            if idempotencyKey == nil || answer == .soldOut {
                self.metrics.localSoldOut.increment()
                return answer
            }
        }
        let key = idempotencyKey.map { "k:" + $0 }
        let answer = try await self.redisCall {
            try await self.batcher.submit(Applicant(user: user, client: client, key: key), for: campaign) { campaign, applicants in
                try await self.issue(applicants, in: campaign)
            }
        }
        switch answer {
        case .issued(let sequence, let at):
            return .issued(Coupon(campaignID: campaign, userID: user, sequence: sequence, issuedAt: at))
        case .again(let sequence, let at):
            let coupon = Coupon(campaignID: campaign, userID: user, sequence: sequence, issuedAt: at)
            // Without the client's key this is a repeated call (see `issue`) finding the user's coupon.
            return idempotencyKey == nil ? .issued(coupon) : .replayed(coupon)
        case .keyUsed:
            return .idempotencyKeyReused
        case .unreplicated(let acknowledged, let wanted):
            let retry = idempotencyKey == nil ? "retry" : "retry with the same Idempotency-Key"
            throw CouponError(
                .storeUnavailable,
                "The coupon was recorded, but only \(acknowledged) of \(wanted) Redis replicas confirmed it in time; \(retry)."
            )
        case .duplicate(let sequence, let at):
            return .alreadyIssued(Coupon(campaignID: campaign, userID: user, sequence: sequence, issuedAt: at))
        case .soldOut(_, let epoch):
            // Best effort: if loading fails, this answer stands and a later request tries again.
            try? await self.learnSoldOut(RedisKeys(campaign), epoch: epoch)
            return .soldOut
        case .notOpen(let startsAt):
            return .notOpenYet(startsAt)
        case .closed(let endsAt):
            return .closed(endsAt)
        case .rateLimited(let milliseconds):
            return .rateLimited(retryAfterSeconds: Int(max(1, (milliseconds + 999) / 1000)))
        }
    }

    /// One gate-script call for `users` of `campaign`; rebuilds the campaign's keys first
    /// when Redis has lost them.
    private func issue(_ applicants: [Applicant], in campaign: CampaignID) async throws -> [IssueAnswer] {
        let keys = RedisKeys(campaign)
        var arguments: [RESPArgument] = [.string(campaign.rawValue), self.rateArguments.user, self.rateArguments.client]
        arguments.reserveCapacity(3 + 3 * applicants.count)
        for applicant in applicants {
            arguments.append(.int(applicant.user.rawValue))
            arguments.append(.string(applicant.client ?? "-"))
            arguments.append(.string(applicant.key ?? "-"))
        }
        let start = ContinuousClock.now
        let reply: (RESPValue, acknowledged: Int64?)
        do {
            reply = try await self.runIssue(keys: keys, arguments: arguments)
        } catch let error as RedisClientError where error.code == .timeout || error.code == .connectionClosed {
            // Ambiguous: the script may have run. Running it again cannot issue twice (the user's
            // win is recorded with the user, and a keyed one with its key), and a user it finds
            // holding a coupon gets that coupon: the first call may be what issued it.
            self.metrics.redisErrors.increment()
            self.logger.warning("Gate call failed ambiguously; repeating it once", metadata: ["error": "\(error)"])
            let repeated = try await self.runIssue(keys: keys, arguments: arguments)
            self.metrics.issueCall.record(duration: ContinuousClock.now - start)
            guard let answers = try IssueAnswer.parse(repeated.0, count: applicants.count) else {
                throw CouponError(.storeUnavailable, "Redis lost campaign '\(campaign)' during the call; retry shortly.")
            }
            let found = answers.map { answer -> IssueAnswer in
                if case .duplicate(let sequence, let at) = answer { return .again(sequence: sequence, at: at) }
                return answer
            }
            return self.checkReplicas(found, acknowledged: repeated.acknowledged)
        }
        self.metrics.issueCall.record(duration: ContinuousClock.now - start)
        self.metrics.issueBatchSize.record(applicants.count)
        if let answers = try IssueAnswer.parse(reply.0, count: applicants.count) {
            return self.checkReplicas(answers, acknowledged: reply.acknowledged)
        }
        try await self.rebuild(campaign)
        let retried = try await self.runIssue(keys: keys, arguments: arguments)
        guard let answers = try IssueAnswer.parse(retried.0, count: applicants.count) else {
            throw CouponError.unknownCampaign(campaign)
        }
        return self.checkReplicas(answers, acknowledged: retried.acknowledged)
    }

    /// The gate script, followed on the same connection by `WAIT` when wins must reach replicas.
    private func runIssue(keys: RedisKeys, arguments: [RESPArgument]) async throws -> (RESPValue, acknowledged: Int64?) {
        guard self.waitReplicas > 0 else {
            return (try await Self.issue.run(on: self.redis, keys: keys.all, arguments: arguments), nil)
        }
        let wait = RedisCommand("WAIT", [.int(Int64(self.waitReplicas)), .int(Self.waitTimeoutMilliseconds)])
        let (reply, acknowledged) = try await Self.issue.run(on: self.redis, keys: keys.all, arguments: arguments, then: wait)
        guard let count = acknowledged.int else {
            throw RedisClientError(.protocolError, message: "WAIT answered \(acknowledged)")
        }
        return (reply, count)
    }

    /// Wins that did not reach enough replicas become `.unreplicated`; other answers stand.
    private func checkReplicas(_ answers: [IssueAnswer], acknowledged: Int64?) -> [IssueAnswer] {
        guard let acknowledged, acknowledged < Int64(self.waitReplicas) else { return answers }
        self.metrics.redisErrors.increment()
        return answers.map { answer in
            switch answer {
            case .issued, .again, .duplicate: .unreplicated(acknowledged: acknowledged, wanted: self.waitReplicas)
            case .soldOut, .notOpen, .closed, .rateLimited, .keyUsed, .unreplicated: answer
            }
        }
    }

    /// Loads the winners of a campaign that just sold out, so this instance answers it from memory.
    ///
    /// One request does it; the others keep asking Redis meanwhile. The epoch
    /// is checked again after loading: if a reset came in between, nothing is cached.
    private func learnSoldOut(_ keys: RedisKeys, epoch: Int64) async throws {
        guard self.soldOut.beginLoading(keys.campaign) else { return }
        var entry: SoldOutCache.Entry?
        defer { self.soldOut.finishLoading(keys.campaign, with: entry) }
        let winners = try await self.redis.winners(keys)
        guard try await self.epoch(keys) == epoch else { return }
        entry = SoldOutCache.Entry(epoch: epoch, winners: winners)
    }

    func epoch(_ keys: RedisKeys) async throws -> Int64? {
        try await self.redis.send(RedisCommand("HGET", [.string(keys.meta), "epoch"])).int
    }

    // MARK: Campaigns

    public func status(of campaign: CampaignID) async throws -> CampaignStatus {
        let definition = try await self.campaign(campaign)
        return try await self.redisCall {
            let keys = RedisKeys(campaign)
            let issued = try await self.redis.send(RedisCommand("GET", [.string(keys.issued)]))
            return CampaignStatus(campaign: definition, issued: issued.int ?? 0)
        }
    }

    public func create(_ campaign: Campaign) async throws -> CampaignStatus {
        // A taken id (another instance may have created it a moment ago, as two starting together
        // both create `default`) is the database's answer, "exists", not an outage: see storeCall.
        try await self.storeCall { try await self.store.write([.createCampaign(campaign)]) }
        self.campaigns.withLock { $0[campaign.id] = campaign }
        let epoch = try await self.redisCall {
            try await Self.create.run(on: self.redis, keys: RedisKeys(campaign.id).all, arguments: Self.metaArguments(campaign)).int ?? 0
        }
        // The database follows Redis's epoch, so the relay writes this generation's coupons only.
        try await self.storeCall { try await self.store.write([.advanceEpoch(campaign.id, to: epoch)]) }
        self.soldOut.evict(campaign.id)
        return CampaignStatus(campaign: campaign, issued: 0)
    }

    /// Empties a campaign: Redis first (a new epoch: winners, counter and
    /// outbox gone), then the database's rows of the earlier epochs. Should the
    /// second step fail, the relay performs it on the new epoch's first coupon.
    public func reset(_ campaign: CampaignID) async throws -> CampaignStatus {
        let definition = try await self.campaign(campaign)
        let epoch = try await self.redisCall {
            let keys = RedisKeys(campaign).all
            let epoch = try await Self.reset.run(on: self.redis, keys: keys, arguments: []).int ?? -1
            guard epoch == -1 else { return epoch }
            // Lost keys: recreate them empty rather than rebuild what is being reset.
            return try await Self.create.run(on: self.redis, keys: keys, arguments: Self.metaArguments(definition)).int ?? 0
        }
        try await self.storeCall { try await self.store.write([.advanceEpoch(campaign, to: epoch)]) }
        self.soldOut.evict(campaign)
        return CampaignStatus(campaign: definition, issued: 0)
    }

    public func isReady() async -> Bool {
        guard self.redis.isConnected else { return false }
        return (try? await self.store.ping()) != nil
    }

    /// The campaign's definition, from memory or the database.
    func campaign(_ id: CampaignID) async throws -> Campaign {
        if let campaign = self.campaigns.withLock({ $0[id] }) { return campaign }
        let all = try await self.storeCall { try await self.store.campaigns() }
        self.campaigns.withLock { cache in
            for campaign in all { cache[campaign.id] = campaign }
        }
        guard let campaign = all.first(where: { $0.id == id }) else {
            throw CouponError.unknownCampaign(id)
        }
        return campaign
    }

    // MARK: Rebuilding lost keys

    /// Restores a campaign's keys from the database after Redis lost them,
    /// before anyone is admitted. One instance does it under a short Redis
    /// lock; the others wait for it. The final script only applies if the
    /// keys are still missing, so a rebuild never overwrites live state.
    func rebuild(_ id: CampaignID) async throws {
        // Read afresh: the epoch must be the database's current one.
        guard let campaign = try await self.storeCall({ try await self.store.campaigns() }).first(where: { $0.id == id }) else {
            throw CouponError.unknownCampaign(id)
        }
        let keys = RedisKeys(id)
        let token = String(UInt64.random(in: .min ... .max))
        let locked = try await self.redis.send(RedisCommand("SET", [.string(keys.rebuildLock), .string(token), "NX", "PX", 10_000]))
        guard locked.string == "OK" else {
            // Another instance rebuilds: wait (bounded) until the keys are back.
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(50))
                if try await self.redis.send(RedisCommand("EXISTS", [.string(keys.meta)])).int == 1 { return }
            }
            throw CouponError(.storeUnavailable, "Campaign '\(id)' is being restored in Redis; retry shortly.")
        }
        self.logger.warning("Redis lost the campaign's keys; rebuilding them from the database", metadata: ["campaign": "\(id)"])
        let coupons = try await self.storeCall { try await self.store.coupons(of: id) }
        for chunk in stride(from: 0, to: coupons.count, by: Self.chunkSize) {
            var arguments: [RESPArgument] = [.string(keys.winners)]
            for coupon in coupons[chunk..<min(chunk + Self.chunkSize, coupons.count)] {
                arguments.append(.string(coupon.userID.description))
                arguments.append(.string(WinnerValue(coupon).text))
            }
            _ = try await self.redis.send(RedisCommand("HSET", arguments))
        }
        let issued = coupons.map(\.sequence).max() ?? 0
        _ = try await Self.rebuild.run(
            on: self.redis,
            keys: keys.all,
            arguments: Self.metaArguments(campaign) + [.int(issued), .int(campaign.epoch)]
        )
        _ = try? await self.redis.send(RedisCommand("DEL", [.string(keys.rebuildLock)]))
    }

    /// A rate as the script reads it: "0" for none, else a plain decimal.
    static func rateText(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int64(rate)) : String(rate)
    }

    static func metaArguments(_ campaign: Campaign) -> [RESPArgument] {
        [
            .int(campaign.limit),
            .string(campaign.startsAt.map { String($0.millisecondsSince1970) } ?? ""),
            .string(campaign.endsAt.map { String($0.millisecondsSince1970) } ?? ""),
        ]
    }

    // MARK: Errors

    /// Runs Redis work, turning client failures into a 503 problem.
    func redisCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisClientError {
            self.metrics.redisErrors.increment()
            self.logger.warning("Redis call failed", metadata: ["error": "\(error)"])
            throw CouponError(.storeUnavailable, "Redis did not answer (\(error.code)); retry shortly.")
        }
    }

    /// Runs database work, turning a taken campaign id into ``CouponError/campaignExists`` and every
    /// other store failure into a 503 problem.
    func storeCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CouponError {
            throw error
        } catch let error as CouponStoreError where error.code == .campaignExists {
            // The store's sentence ("a campaign with the id '…' exists already"), capitalised for the client.
            throw CouponError(.campaignExists, error.message.prefix(1).uppercased() + error.message.dropFirst() + ".")
        } catch {
            self.logger.warning("Database call failed", metadata: ["error": "\(error)"])
            throw CouponError(.storeUnavailable, "The database did not answer; retry shortly.")
        }
    }

    static func words(_ reply: RESPValue) -> [String] {
        reply.array?.compactMap(\.string) ?? []
    }
}

/// A winners-hash value: `"<sequence>:<issuedAt ms>"`.
struct WinnerValue: Hashable, Sendable {
    var sequence: Int64
    var issuedAt: Timestamp

    init(_ coupon: Coupon) {
        self.sequence = coupon.sequence
        self.issuedAt = coupon.issuedAt
    }

    init?(parsing text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let sequence = Int64(parts[0]), let at = Int64(parts[1]) else { return nil }
        self.sequence = sequence
        self.issuedAt = Timestamp(millisecondsSince1970: at)
    }

    var text: String { "\(self.sequence):\(self.issuedAt.millisecondsSince1970)" }
}
