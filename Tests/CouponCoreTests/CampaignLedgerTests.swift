import CouponCore
import Testing

@Suite struct CampaignLedgerTests {
    let now = Timestamp(millisecondsSince1970: 1_000_000)

    func ledger(limit: Int64, startsAt: Timestamp? = nil, endsAt: Timestamp? = nil) throws -> CampaignLedger {
        CampaignLedger(
            campaign: try Campaign(id: .default, name: "test", limit: limit, startsAt: startsAt, endsAt: endsAt, createdAt: self.now)
        )
    }

    func user(_ id: Int64) throws -> UserID { try UserID(id) }

    /// Admits with a recorder that hands out increasing tickets.
    func admit(_ ledger: inout CampaignLedger, _ user: Int64, key: String? = nil, at instant: Timestamp? = nil) throws -> ApplyOutcome {
        var next: UInt64 = 100
        let user = try UserID(user)
        return ledger.admit(user, key: key, at: instant ?? self.now) { _ in
            next += 1
            return next
        }.outcome
    }

    @Test func firstDistinctUsersWinInOrder() throws {
        var ledger = try self.ledger(limit: 3)
        for (index, id) in [Int64(10), 20, 30].enumerated() {
            guard case .issued(let coupon) = try self.admit(&ledger, id) else {
                Issue.record("user \(id) should have won")
                continue
            }
            #expect(coupon.sequence == Int64(index + 1))
            #expect(coupon.userID == (try self.user(id)))
        }
        #expect(ledger.issued == 3)
        #expect(ledger.isSoldOut)
        #expect(try self.admit(&ledger, 40) == .soldOut)
    }

    @Test func anIdempotencyKeyReplaysItsWinForItsUserOnly() throws {
        var ledger = try self.ledger(limit: 2)
        guard case .issued(let coupon) = try self.admit(&ledger, 1, key: "a") else {
            Issue.record("user 1 should have won")
            return
        }
        #expect(try self.admit(&ledger, 1, key: "a") == .replayed(coupon))
        #expect(try self.admit(&ledger, 2, key: "a") == .idempotencyKeyReused)
        #expect(try self.admit(&ledger, 1, key: "b") == .alreadyIssued(coupon), "another key of a winner is a duplicate")
        #expect(try self.admit(&ledger, 1) == .alreadyIssued(coupon))
        #expect(ledger.issued == 1, "a replay issues nothing")
        // A key that did not win is not kept; a reset forgets the winning ones.
        guard case .issued = try self.admit(&ledger, 3, key: "c") else {
            Issue.record("user 3 should have won")
            return
        }
        #expect(try self.admit(&ledger, 4, key: "d") == .soldOut)
        ledger.reset()
        guard case .issued = try self.admit(&ledger, 5, key: "a") else {
            Issue.record("after a reset, key a is free again")
            return
        }
    }

    @Test func aWinnerWhoAppliesAgainGetsTheSameCouponAndTicket() throws {
        var ledger = try self.ledger(limit: 2)
        let seven = try self.user(7)
        let first = ledger.admit(seven, at: self.now) { _ in 55 }
        let again = ledger.admit(seven, at: self.now) { _ in
            Issue.record("a duplicate must not be recorded again")
            return 0
        }
        guard case .issued(let coupon) = first.outcome else {
            Issue.record("expected a win")
            return
        }
        #expect(again.outcome == .alreadyIssued(coupon))
        #expect(again.ticket == 55)
        #expect(ledger.issued == 1)
    }

    @Test func aLoserIsNeverRecorded() throws {
        var ledger = try self.ledger(limit: 1)
        _ = try self.admit(&ledger, 1)
        #expect(try self.admit(&ledger, 2) == .soldOut)
        #expect(try self.admit(&ledger, 2) == .soldOut)
        #expect(ledger.entry(for: try self.user(2)) == nil)
    }

    @Test func windowIsCheckedAfterDuplicatesAndBeforeTheLimit() throws {
        let start = Timestamp(millisecondsSince1970: 2_000_000)
        let end = Timestamp(millisecondsSince1970: 3_000_000)
        var ledger = try self.ledger(limit: 1, startsAt: start, endsAt: end)
        #expect(try self.admit(&ledger, 1, at: self.now) == .notOpenYet(start))
        guard case .issued(let coupon) = try self.admit(&ledger, 1, at: start) else {
            Issue.record("expected a win once open")
            return
        }
        // After the end a winner still learns it has a coupon; others hear "closed", not "sold out".
        #expect(try self.admit(&ledger, 1, at: end) == .alreadyIssued(coupon))
        #expect(try self.admit(&ledger, 2, at: end) == .closed(end))
    }

    @Test func aRecorderThatThrowsAdmitsNobody() throws {
        struct Refused: Error {}
        var ledger = try self.ledger(limit: 5)
        #expect(throws: Refused.self) {
            try ledger.admit(try self.user(1), at: self.now) { _ throws(Refused) in throw Refused() }
        }
        #expect(ledger.issued == 0)
        #expect(ledger.entry(for: try self.user(1)) == nil)
    }

    @Test func loadingContinuesAfterTheHighestSequence() throws {
        let campaign = try Campaign(id: .default, name: "t", limit: 10, createdAt: self.now)
        let coupons = try [(Int64(5), Int64(1)), (6, 3)].map { user, sequence in
            Coupon(campaignID: .default, userID: try UserID(user), sequence: sequence, issuedAt: self.now)
        }
        var ledger = CampaignLedger(campaign: campaign, coupons: coupons)
        #expect(ledger.issued == 3)
        #expect(ledger.entry(for: try self.user(6))?.ticket == 0)
        guard case .issued(let coupon) = try self.admit(&ledger, 9) else {
            Issue.record("expected a win")
            return
        }
        #expect(coupon.sequence == 4)
    }

    @Test func resetForgetsEveryWinner() throws {
        var ledger = try self.ledger(limit: 1)
        _ = try self.admit(&ledger, 1)
        ledger.reset()
        #expect(ledger.issued == 0)
        #expect(ledger.status.remaining == 1)
        guard case .issued(let coupon) = try self.admit(&ledger, 2) else {
            Issue.record("expected a win after reset")
            return
        }
        #expect(coupon.sequence == 1)
    }
}
