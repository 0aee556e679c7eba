import CouponCore

/// The Redis keys of one campaign. All share the hash tag `{c:<id>}`, so on a
/// Redis Cluster a campaign's keys live on one shard and the gate script,
/// which touches several of them, stays a single-slot call.
struct RedisKeys: Sendable {
    let campaign: CampaignID
    let meta: String
    let issued: String
    let winners: String
    let outbox: String
    /// Idempotency key → the winner who used it (``IssueScript``): a repeated request gets its original answer.
    let idempotency: String
    /// Entries the relay could not parse, with the reason.
    let deadLetters: String
    /// Held while a campaign's keys are rebuilt from the database.
    let rebuildLock: String
    /// The keys the gate scripts take, in their KEYS order.
    let all: [String]

    init(_ campaign: CampaignID) {
        let tag = "{c:\(campaign.rawValue)}"
        self.campaign = campaign
        self.meta = "\(tag):meta"
        self.issued = "\(tag):issued"
        self.winners = "\(tag):winners"
        self.outbox = "\(tag):outbox"
        self.idempotency = "\(tag):idem"
        self.deadLetters = "\(tag):dead"
        self.rebuildLock = "\(tag):rebuild"
        self.all = [self.meta, self.issued, self.winners, self.outbox, self.idempotency]
    }

    /// The consumer group the relays share on every outbox stream.
    static let relayGroup = "relay"
}
