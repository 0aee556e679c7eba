import CouponCore

/// Where the relay delivers the coupons it reads from the outbox: the database of record, or a
/// Kafka topic. The relay acknowledges an outbox entry only after `deliver` returned for its coupons.
public protocol OutboxSink: Sendable {
    /// Writes `coupons` durably (or throws, and the relay retries them with backoff). The same coupon
    /// may be delivered again after a relay stopped mid-batch: the receiving end must be idempotent.
    func deliver(_ coupons: [RelayedCoupon]) async throws
    /// What the coupons are written to, for logs: "database", "Kafka".
    var name: String { get }
}

/// A coupon on its way out of the outbox, with the epoch (reset count) of the campaign it was issued in.
public struct RelayedCoupon: Sendable, Hashable {
    public var coupon: Coupon
    public var epoch: Int64

    public init(coupon: Coupon, epoch: Int64) {
        self.coupon = coupon
        self.epoch = epoch
    }
}

/// The database of record as the sink: one transaction per batch, `ON CONFLICT DO NOTHING`, coupons
/// of an epoch older than the database's dropped.
public struct StoreOutboxSink: OutboxSink {
    let store: any CouponStore

    public init(store: any CouponStore) {
        self.store = store
    }

    public var name: String { "database" }

    public func deliver(_ coupons: [RelayedCoupon]) async throws {
        try await self.store.write(coupons.map { .relayCoupon($0.coupon, epoch: $0.epoch) })
    }
}
