import CouponCore
import CouponStore
import CouponTestSupport
import Testing

/// What every ``CouponStore`` must do, run against each backend: SQLite always, PostgreSQL and MariaDB
/// with the integration switch (``IntegrationSuite``) on.
@Suite struct CouponStoreContractTests {
    @Test(arguments: StoreBackend.contract)
    func writesAndReadsBack(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let windowed = try Campaign(
                id: CampaignID(validating: "w"),
                name: "Windowed",
                limit: 5,
                startsAt: Timestamp(millisecondsSince1970: 1_800_000_000_000),
                endsAt: Timestamp(millisecondsSince1970: 1_900_000_000_000),
                createdAt: Fixture.now
            )
            try await store.write([
                .createCampaign(windowed), .createCampaign(try Fixture.campaign("a")),
                .insertCoupon(try Fixture.coupon("a", user: 7, sequence: 1)),
                .insertCoupon(try Fixture.coupon("a", user: 8, sequence: 2)),
                .insertCoupon(try Fixture.coupon("w", user: 7, sequence: 1)),
            ])
            // Campaigns come back by id, whatever order they were created in.
            #expect(try await store.campaigns() == [try Fixture.campaign("a"), windowed])
            #expect(try await store.coupons(of: CampaignID(validating: "a")).map(\.userID.rawValue) == [7, 8])
            #expect(try await store.coupons(heldBy: UserID(7)).map(\.campaignID.rawValue).sorted() == ["a", "w"])
            #expect(try await store.coupons(heldBy: UserID(9)).isEmpty)
            #expect(try await store.coupons(of: CampaignID(validating: "none")).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.contract)
    func extremeValuesRoundTripExactly(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let id = String(repeating: "z", count: CampaignID.maximumLength)
            // Quotes and a statement terminator in the name: values travel as binds, never as SQL text.
            let campaign = try Campaign(
                id: CampaignID(validating: id),
                name: "O'Brien \"drop\"; DROP TABLE coupons; -- ☃",
                limit: Campaign.maximumLimit,
                startsAt: Timestamp(millisecondsSince1970: -86_400_000),
                createdAt: Timestamp(millisecondsSince1970: 0)
            )
            let coupon = try Fixture.coupon(id, user: Int64.max, sequence: Campaign.maximumLimit, issuedAt: Timestamp(millisecondsSince1970: -1))
            try await store.write([.createCampaign(campaign), .insertCoupon(coupon)])
            #expect(try await store.campaigns() == [campaign])
            #expect(try await store.coupons(of: campaign.id) == [coupon])
            #expect(try await store.coupons(heldBy: UserID(Int64.max)) == [coupon])
        }
    }

    @Test(arguments: StoreBackend.contract)
    func insertingACouponTwiceKeepsOneRow(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.write([.createCampaign(try Fixture.campaign("a")), .insertCoupon(try Fixture.coupon("a", user: 7, sequence: 1))])
            // The relay may deliver an entry twice; the same user or the same sequence is ignored.
            try await store.write([
                .insertCoupon(try Fixture.coupon("a", user: 7, sequence: 1)),
                .insertCoupon(try Fixture.coupon("a", user: 7, sequence: 2)),
                .insertCoupon(try Fixture.coupon("a", user: 9, sequence: 1)),
            ])
            #expect(try await store.coupons(of: CampaignID(validating: "a")) == [try Fixture.coupon("a", user: 7, sequence: 1)])
        }
    }

    @Test(arguments: StoreBackend.contract)
    func duplicatesWithinOneBatchKeepTheFirst(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.write([
                .createCampaign(try Fixture.campaign("a")),
                .insertCoupon(try Fixture.coupon("a", user: 7, sequence: 1)),
                .insertCoupon(try Fixture.coupon("a", user: 7, sequence: 2)),  // same user
                .insertCoupon(try Fixture.coupon("a", user: 8, sequence: 1)),  // same sequence
                .insertCoupon(try Fixture.coupon("a", user: 8, sequence: 2)),
            ])
            let coupons = try await store.coupons(of: CampaignID(validating: "a"))
            #expect(coupons == [try Fixture.coupon("a", user: 7, sequence: 1), try Fixture.coupon("a", user: 8, sequence: 2)])
        }
    }

    @Test(arguments: StoreBackend.contract)
    func resetDeletesOneCampaignsCouponsInOrder(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.write([
                .createCampaign(try Fixture.campaign("a")), .createCampaign(try Fixture.campaign("b")),
                .insertCoupon(try Fixture.coupon("a", user: 1, sequence: 1)),
                .insertCoupon(try Fixture.coupon("b", user: 1, sequence: 1)),
                .resetCampaign(try CampaignID(validating: "a")),
                // Written after the reset in the same batch, so it stays.
                .insertCoupon(try Fixture.coupon("a", user: 2, sequence: 1)),
            ])
            #expect(try await store.coupons(of: CampaignID(validating: "a")).map(\.userID.rawValue) == [2])
            #expect(try await store.coupons(of: CampaignID(validating: "b")).count == 1)
        }
    }

    @Test(arguments: StoreBackend.contract)
    func aFailingBatchWritesNothing(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.write([.createCampaign(try Fixture.campaign("a"))])
            let error = await #expect(throws: CouponStoreError.self) {
                try await store.write([
                    .insertCoupon(try Fixture.coupon("a", user: 1, sequence: 1)),
                    .createCampaign(try Fixture.campaign("a")),  // exists: the whole batch fails
                ])
            }
            // Told apart from an outage by its code, so the gate answers 409 without asking again.
            #expect(error?.code == .campaignExists)
            #expect(error?.message == "a campaign with the id 'a' exists already")
            #expect(try await store.coupons(of: CampaignID(validating: "a")).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.contract)
    func aBatchFailingMidwayWritesNothing(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.write([.createCampaign(try Fixture.campaign("a")), .insertCoupon(try Fixture.coupon("a", user: 1, sequence: 1))])
            // More coupons than one INSERT carries, so some statements have run before the failing one.
            var batch: [StoreWrite] = [.createCampaign(try Fixture.campaign("b")), .resetCampaign(try CampaignID(validating: "a"))]
            for user in Int64(1)...2_500 {
                batch.append(.insertCoupon(try Fixture.coupon("b", user: user, sequence: user)))
            }
            batch.append(.insertCoupon(try Fixture.coupon("ghost", user: 1, sequence: 1)))  // unknown campaign
            batch.append(.insertCoupon(try Fixture.coupon("a", user: 2, sequence: 2)))
            await #expect(throws: CouponStoreError.self) { try await store.write(batch) }
            #expect(try await store.campaigns() == [try Fixture.campaign("a")])
            #expect(try await store.coupons(of: CampaignID(validating: "a")) == [try Fixture.coupon("a", user: 1, sequence: 1)])
            #expect(try await store.coupons(of: CampaignID(validating: "b")).isEmpty)
            // The store is usable after the rollback.
            try await store.write([.insertCoupon(try Fixture.coupon("a", user: 2, sequence: 2))])
            #expect(try await store.coupons(of: CampaignID(validating: "a")).count == 2)
        }
    }

    @Test(arguments: StoreBackend.contract)
    func aCouponOfAnUnknownCampaignIsRefused(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            await #expect(throws: CouponStoreError.self) {
                try await store.write([.insertCoupon(try Fixture.coupon("ghost", user: 1, sequence: 1))])
            }
        }
    }

    @Test(arguments: StoreBackend.contract)
    func creatingAnExistingCampaignFails(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.write([.createCampaign(try Fixture.campaign("a", limit: 3))])
            await #expect(throws: CouponStoreError.self) {
                try await store.write([.createCampaign(try Fixture.campaign("a", limit: 5))])
            }
            #expect(try await store.campaigns() == [try Fixture.campaign("a", limit: 3)])
        }
    }

    @Test(arguments: StoreBackend.contract)
    func aLargeBatchComesBackBySequence(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            var batch: [StoreWrite] = [.createCampaign(try Fixture.campaign("a", limit: 5_000))]
            // Written out of order across several INSERT statements; read back by sequence.
            for sequence in (Int64(1)...2_345).reversed() {
                batch.append(.insertCoupon(try Fixture.coupon("a", user: 10_000 + sequence, sequence: sequence)))
            }
            try await store.write(batch)
            let coupons = try await store.coupons(of: CampaignID(validating: "a"))
            #expect(coupons.map(\.sequence) == Array(1...2_345))
            #expect(coupons.allSatisfy { $0.userID.rawValue == 10_000 + $0.sequence })
        }
    }

    @Test(arguments: StoreBackend.contract)
    func aUsersCouponsComeBackInIssueOrder(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let early = Timestamp(millisecondsSince1970: Fixture.now.millisecondsSince1970 + 1)
            let late = Timestamp(millisecondsSince1970: Fixture.now.millisecondsSince1970 + 2)
            try await store.write([
                .createCampaign(try Fixture.campaign("a")), .createCampaign(try Fixture.campaign("b")),
                .createCampaign(try Fixture.campaign("c")),
                .insertCoupon(try Fixture.coupon("b", user: 7, sequence: 1, issuedAt: early)),
                .insertCoupon(try Fixture.coupon("c", user: 7, sequence: 1, issuedAt: late)),
                .insertCoupon(try Fixture.coupon("a", user: 7, sequence: 1, issuedAt: late)),
                .insertCoupon(try Fixture.coupon("a", user: 8, sequence: 2, issuedAt: early)),
            ])
            // By issue time, then campaign id.
            #expect(try await store.coupons(heldBy: UserID(7)).map(\.campaignID.rawValue) == ["b", "a", "c"])
        }
    }

    @Test(arguments: StoreBackend.contract)
    func anEmptyBatchAndAPingSucceed(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            try await store.write([])
            try await store.ping()
            #expect(try await store.campaigns().isEmpty)
        }
    }

    /// A relay lagging behind a reset must not write the previous drop's coupons into the new one.
    @Test(arguments: StoreBackend.contract)
    func relayedCouponsFollowTheCampaignsEpoch(_ backend: StoreBackend) async throws {
        try await backend.withStore { store in
            let a = try CampaignID(validating: "a")
            try await store.write([.createCampaign(try Fixture.campaign("a")), .advanceEpoch(a, to: 1)])
            try await store.write([.relayCoupon(try Fixture.coupon("a", user: 1, sequence: 1), epoch: 1)])
            #expect(try await store.coupons(of: a).map(\.userID.rawValue) == [1])

            // The reset's database step: epoch 2, the epoch-1 rows are gone.
            try await store.write([.advanceEpoch(a, to: 2)])
            #expect(try await store.coupons(of: a).isEmpty)
            #expect(try await store.campaigns().first?.epoch == 2)

            // A late epoch-1 entry is dropped; its sequence stays free for the new drop's winner.
            try await store.write([
                .relayCoupon(try Fixture.coupon("a", user: 2, sequence: 2), epoch: 1),
                .relayCoupon(try Fixture.coupon("a", user: 5, sequence: 1), epoch: 2),
            ])
            #expect(try await store.coupons(of: a).map(\.userID.rawValue) == [5])

            // An entry of a newer epoch than the database knows advances it first (a reset whose
            // database step failed), and an older advance changes nothing.
            try await store.write([.relayCoupon(try Fixture.coupon("a", user: 9, sequence: 1), epoch: 3), .advanceEpoch(a, to: 2)])
            #expect(try await store.coupons(of: a).map(\.userID.rawValue) == [9])
            #expect(try await store.campaigns().first?.epoch == 3)
        }
    }
}
