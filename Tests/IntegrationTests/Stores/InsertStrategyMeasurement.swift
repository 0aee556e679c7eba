import CouponCore
import CouponTestSupport
import Foundation
import PostgresNIO
import Testing

@testable import CouponStore

extension IntegrationTests {
    /// Both coupon INSERT strategies write every row of a batch; and their timings, to choose
    /// ``PostgresCouponStore/insertStrategy``.
    ///
    /// Always runs as a check on small batches. The full measurement (1,000-row batches, 30 rounds)
    /// runs with `COUPONGATE_MEASURE_INSERT=1 swift test --filter InsertStrategyMeasurement`.
    @Suite struct InsertStrategyMeasurement {
        static let measuring = ProcessInfo.processInfo.environment["COUPONGATE_MEASURE_INSERT"] != nil
        static let rows = measuring ? 1_000 : 100
        static let rounds = measuring ? 30 : 1

        @Test func bothStrategiesWriteEveryRow() async throws {
            try await TestPostgres.withDatabase { url in
                try await TestPostgres.withStore(url) { store in
                    try await store.write([.createCampaign(try Fixture.campaign("m", limit: Campaign.maximumLimit))])
                }
                var samples: [CouponInsertStrategy: [Duration]] = [:]
                var buildSamples: [CouponInsertStrategy: [Duration]] = [:]
                try await TestPostgres.withClient(url) { client in
                    try await client.withConnection { connection in
                        var next: Int64 = 1
                        // Alternate strategies each round so drift (checkpoints, cache) hits both alike.
                        for round in 0..<(Self.rounds + 2) {
                            for strategy in CouponInsertStrategy.allCases {
                                var coupons: [Coupon] = []
                                for _ in 0..<Self.rows {
                                    coupons.append(try Fixture.coupon("m", user: next, sequence: next))
                                    next += 1
                                }
                                let clock = ContinuousClock()
                                let started = clock.now
                                try await PostgresTransaction.run(on: connection, logger: TestPostgres.logger) {
                                    try await PostgresCouponStore.insert(coupons, strategy: strategy, on: connection, logger: TestPostgres.logger)
                                }
                                let total = clock.now - started
                                // The client's share: building the statement and its binds.
                                let building = clock.measure { _ = strategy.query(for: coupons) }
                                // The first rounds warm caches and the connection; they are not counted.
                                if round >= 2 {
                                    samples[strategy, default: []].append(total)
                                    buildSamples[strategy, default: []].append(building)
                                }
                            }
                        }
                    }
                }
                try await TestPostgres.withStore(url) { store in
                    let written = try await store.coupons(of: CampaignID(validating: "m")).count
                    #expect(written == Self.rows * CouponInsertStrategy.allCases.count * (Self.rounds + 2))
                }
                for strategy in CouponInsertStrategy.allCases {
                    let sorted = (samples[strategy] ?? []).sorted()
                    guard !sorted.isEmpty else { continue }
                    let median = sorted[sorted.count / 2]
                    let p90 = sorted[sorted.count * 9 / 10]
                    let building = (buildSamples[strategy] ?? []).sorted()
                    print(
                        "insert strategy \(strategy): \(Self.rows) rows in one transaction, \(sorted.count) rounds:",
                        "median \(median), p90 \(p90), min \(sorted[0]); building the statement: median \(building[building.count / 2])"
                    )
                }
            }
        }
    }
}
