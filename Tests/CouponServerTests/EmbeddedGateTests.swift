import CouponCore
import CouponStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import CouponServer

/// A store that wraps SQLite and can be told to fail or slow its writes.
final class FlakyStore: CouponStore {
    let base: SQLiteCouponStore
    private let failures = Mutex(0)
    private let batches = Mutex(0)
    private let delay: Duration

    init(base: SQLiteCouponStore, failingWrites: Int = 0, delay: Duration = .zero) {
        self.base = base
        self.failures.withLock { $0 = failingWrites }
        self.delay = delay
    }

    struct Refused: Error {}

    /// How many write batches reached the store.
    var writeCount: Int { self.batches.withLock { $0 } }

    func write(_ writes: [StoreWrite]) async throws {
        self.batches.withLock { $0 += 1 }
        if self.delay > .zero { try? await Task.sleep(for: self.delay) }
        let fail = self.failures.withLock { remaining in
            defer { remaining = max(0, remaining - 1) }
            return remaining > 0
        }
        if fail { throw Refused() }
        try await self.base.write(writes)
    }

    func campaigns() async throws -> [Campaign] { try await self.base.campaigns() }
    func coupons(of campaign: CampaignID) async throws -> [Coupon] { try await self.base.coupons(of: campaign) }
    func coupons(heldBy user: UserID) async throws -> [Coupon] { try await self.base.coupons(heldBy: user) }
    func ping() async throws { try await self.base.ping() }
}

@Suite struct EmbeddedGateTests {
    let logger = Logger(label: "test")

    /// Runs a gate over a fresh SQLite store (wrapped by `wrap`) with its commit writer running.
    func withGate(
        limit: Int64,
        failingWrites: Int = 0,
        writeDelay: Duration = .zero,
        _ body: @Sendable (EmbeddedGate, FlakyStore, ServiceGroup) async throws -> Void
    ) async throws {
        try await TestSupport.withDirectory { directory in
            let sqlite = try await SQLiteCouponStore.open(directory: directory, logger: self.logger)
            let campaign = try Campaign(id: .default, name: "d", limit: limit, createdAt: .now)
            try await sqlite.write([.createCampaign(campaign)])
            let store = FlakyStore(base: sqlite, failingWrites: failingWrites, delay: writeDelay)
            let queue = CommitQueue()
            let gate = try await EmbeddedGate.load(from: store, queue: queue, clock: SystemWallClock())
            let writer = CommitWriter(queue: queue, store: store, logger: self.logger, retryDelay: (.milliseconds(5), .milliseconds(20)))
            let group = ServiceGroup(configuration: .init(services: [writer], logger: self.logger))
            do {
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    do {
                        try await body(gate, store, group)
                    } catch {
                        await group.triggerGracefulShutdown()
                        throw error
                    }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
            } catch {
                // SQLiteNIO asserts that a connection is closed before it goes away.
                await sqlite.close()
                throw error
            }
            await sqlite.close()
        }
    }

    @Test func aFailedCommitAnswers503AndTheCouponIsKeptForTheRetry() async throws {
        try await self.withGate(limit: 5, failingWrites: 1, writeDelay: .milliseconds(50)) { gate, store, _ in
            let user = try UserID(1)
            // The first commit fails (after 50 ms, so the apply is waiting for it): no 200 is given.
            let error = try await #require(throws: CouponError.self) { try await gate.apply(user: user, campaign: .default) }
            #expect(error.code == .storeUnavailable)
            // The writer retries; the user's retry then learns it holds the coupon.
            let retry = try await gate.apply(user: user, campaign: .default)
            guard case .alreadyIssued(let coupon) = retry else {
                Issue.record("expected the retried coupon, got \(retry)")
                return
            }
            #expect(coupon.sequence == 1)
            #expect(try await store.base.coupons(of: .default).map(\.userID) == [user])
            guard case .issued(let next) = try await gate.apply(user: UserID(2), campaign: .default) else {
                Issue.record("expected a win")
                return
            }
            #expect(next.sequence == 2)
        }
    }

    @Test func gracefulShutdownCommitsEveryAdmittedWinnerThenRefusesNewOnes() async throws {
        let limit = 200
        try await self.withGate(limit: Int64(limit), writeDelay: .milliseconds(30)) { gate, store, group in
            let outcomes = try await withThrowingTaskGroup(of: ApplyOutcome.self) { tasks in
                for user in 1...limit {
                    tasks.addTask { try await gate.apply(user: UserID(Int64(user)), campaign: .default) }
                }
                // Shut down while most winners still wait for their commit.
                try await Task.sleep(for: .milliseconds(20))
                await group.triggerGracefulShutdown()
                return try await tasks.reduce(into: []) { $0.append($1) }
            }
            let issued = outcomes.filter { if case .issued = $0 { true } else { false } }
            #expect(issued.count == limit)
            #expect(try await store.base.coupons(of: .default).count == limit)
            // Group commit: winners that arrive together share a transaction.
            #expect(store.writeCount < limit / 4, "\(store.writeCount) commits for \(limit) winners")
        }
    }

    @Test func afterTheWriterStoppedNobodyIsAdmitted() async throws {
        try await TestSupport.withDirectory { directory in
            let store = try await SQLiteCouponStore.open(directory: directory, logger: self.logger)
            try await store.write([.createCampaign(try Campaign(id: .default, name: "d", limit: 5, createdAt: .now))])
            let queue = CommitQueue()
            let gate = try await EmbeddedGate.load(from: store, queue: queue, clock: SystemWallClock())
            // What graceful shutdown does: close the queue, let the writer drain it and return.
            queue.close()
            await CommitWriter(queue: queue, store: store, logger: self.logger).run()
            let error = try await #require(throws: CouponError.self) { try await gate.apply(user: UserID(9), campaign: .default) }
            #expect(error.code == .storeUnavailable)
            #expect(try gate.status(of: .default).issued == 0)
            await store.close()
        }
    }
}
