import CouponCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct ApplyRoutesTests {
    @Test func seedRouteIssuesThenAnswers409WithTheSameCouponThen422() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory, defaultLimit: 2) { client in
                let first = try await client.apply("42")
                #expect(first.status == .ok)
                #expect(first.headers[.contentType] == "application/json")
                let coupon = try first.json
                #expect(coupon["campaignId"] as? String == "default")
                #expect(coupon["userId"] as? Int == 42)
                #expect(coupon["sequence"] as? Int == 1)
                let issuedAt = try #require(coupon["issuedAt"] as? String)
                #expect(Timestamp(rfc3339: issuedAt) != nil)

                let again = try await client.apply("42")
                try again.expectProblem(.conflict, kind: "already-issued")
                let held = try #require(try again.json["coupon"] as? [String: Any])
                #expect(held["sequence"] as? Int == 1)
                #expect(held["issuedAt"] as? String == issuedAt)

                #expect(try await client.apply("43").status == .ok)
                let late = try await client.apply("44")
                try late.expectProblem(.unprocessableContent, kind: "sold-out")
                #expect(try late.json["campaign"] as? String == "default")
                // A loser is not recorded as having applied: asking again is still 422, never 409.
                try await client.apply("44").expectProblem(.unprocessableContent, kind: "sold-out")
            }
        }
    }

    @Test func aRepeatedApplyWithItsIdempotencyKeyGetsTheOriginal200() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory, defaultLimit: 1) { client in
                let first = try await client.apply("42", idempotencyKey: "order-7 retry-safe")
                #expect(first.status == .ok)
                let again = try await client.apply("42", idempotencyKey: "order-7 retry-safe")
                #expect(again.status == .ok, "the original answer, not 409")
                #expect(try again.json["sequence"] as? Int == 1)
                #expect(try again.json["issuedAt"] as? String == (try first.json["issuedAt"] as? String))
                // Without the key (or with another) a winner's repeat is the usual 409.
                try await client.apply("42").expectProblem(.conflict, kind: "already-issued")
                try await client.apply("42", idempotencyKey: "other").expectProblem(.conflict, kind: "already-issued")
                // The key belongs to user 42's win.
                let stolen = try await client.apply("43", idempotencyKey: "order-7 retry-safe")
                try stolen.expectProblem(.unprocessableContent, kind: "idempotency-key-reused")
                try await client.apply("43", idempotencyKey: "fresh").expectProblem(.unprocessableContent, kind: "sold-out")
            }
        }
    }

    @Test(arguments: [String(repeating: "k", count: 129), "", "tab\there", "caf\u{E9}"])
    func aBadIdempotencyKeyIsA400(key: String) async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let response = try await client.apply("42", idempotencyKey: key)
                try response.expectProblem(.badRequest, kind: "invalid-idempotency-key")
                #expect(try await client.apply("42").status == .ok, "nothing was recorded for the refused request")
            }
        }
    }

    @Test func anIdempotencyKeyGivenTwiceIsA400() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                var headers = HTTPFields()
                headers.append(HTTPField(name: HTTPField.Name("Idempotency-Key")!, value: "a"))
                headers.append(HTTPField(name: HTTPField.Name("Idempotency-Key")!, value: "b"))
                let response = try await client.execute(uri: "/coupon/apply?userId=42", method: .post, headers: headers)
                try response.expectProblem(.badRequest, kind: "invalid-idempotency-key")
                #expect(try response.json["detail"] as? String == "Idempotency-Key is given 2 times; give it once.")
            }
        }
    }

    @Test func campaignRouteKnowsItsCampaigns() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                #expect(try await client.createCampaign(#"{"id":"spring","name":"Spring","limit":1}"#).status == .created)
                let won = try await client.apply("5", campaign: "spring")
                #expect(won.status == .ok)
                #expect(try won.json["campaignId"] as? String == "spring")
                try await client.apply("6", campaign: "spring").expectProblem(.unprocessableContent, kind: "sold-out")
                // Campaigns are independent: user 5 can still win 'default'.
                #expect(try await client.apply("5").status == .ok)
                try await client.apply("5", campaign: "nope").expectProblem(.notFound, kind: "unknown-campaign")
                try await client.apply("5", campaign: "bad.id").expectProblem(.badRequest, kind: "invalid-campaign-id")
            }
        }
    }

    @Test func windowAnswers403BeforeTheStartAndAfterTheEnd() async throws {
        let clock = TestClock(Timestamp(rfc3339: "2026-12-01T08:00:00Z")!)
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory, clock: clock) { client in
                let created = try await client.createCampaign(
                    #"{"id":"morning","name":"Morning","limit":5,"startsAt":"2026-12-01T09:00:00Z","endsAt":"2026-12-01T10:00:00+00:00"}"#
                )
                #expect(created.status == .created)
                #expect(try created.json["status"] as? String == "scheduled")

                let early = try await client.apply("1", campaign: "morning")
                try early.expectProblem(.forbidden, kind: "not-open")
                #expect(try early.json["startsAt"] as? String == "2026-12-01T09:00:00.000Z")

                clock.set(Timestamp(rfc3339: "2026-12-01T09:00:00Z")!)
                #expect(try await client.apply("1", campaign: "morning").status == .ok)

                clock.set(Timestamp(rfc3339: "2026-12-01T10:00:00Z")!)
                let late = try await client.apply("2", campaign: "morning")
                try late.expectProblem(.forbidden, kind: "closed")
                #expect(try late.json["endsAt"] as? String == "2026-12-01T10:00:00.000Z")
                // The winner still learns it holds a coupon.
                try await client.apply("1", campaign: "morning").expectProblem(.conflict, kind: "already-issued")
                let status = try await client.execute(uri: "/campaigns/morning", method: .get)
                #expect(try status.json["status"] as? String == "closed")
            }
        }
    }

    @Test func campaignStatusAndUserCoupons() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory, defaultLimit: 3) { client in
                _ = try await client.apply("7")
                _ = try await client.createCampaign(#"{"id":"b","name":"B","limit":9}"#)
                _ = try await client.apply("7", campaign: "b")
                _ = try await client.apply("8", campaign: "b")

                let status = try await client.execute(uri: "/campaigns/default", method: .get)
                #expect(status.status == .ok)
                let json = try status.json
                #expect(json["id"] as? String == "default")
                #expect(json["limit"] as? Int == 3)
                #expect(json["issued"] as? Int == 1)
                #expect(json["remaining"] as? Int == 2)
                #expect(json["status"] as? String == "open")

                let coupons = try await client.execute(uri: "/users/7/coupons", method: .get)
                #expect(coupons.status == .ok)
                let list = try #require(try coupons.json["coupons"] as? [[String: Any]])
                #expect(Set(list.compactMap { $0["campaignId"] as? String }) == ["default", "b"])
                let none = try await client.execute(uri: "/users/999/coupons", method: .get)
                #expect((try none.json["coupons"] as? [Any])?.isEmpty == true)

                try await client.execute(uri: "/campaigns/missing", method: .get).expectProblem(.notFound, kind: "unknown-campaign")
                try await client.execute(uri: "/users/abc/coupons", method: .get).expectProblem(.badRequest, kind: "invalid-user-id")
            }
        }
    }

    @Test func healthAndUnknownRoutes() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let live = try await client.execute(uri: "/health/live", method: .get)
                #expect(live.status == .ok)
                #expect(try live.json["status"] as? String == "ok")
                let ready = try await client.execute(uri: "/health/ready", method: .get)
                #expect(ready.status == .ok)
                #expect(try ready.json["status"] as? String == "ready")
                try await client.execute(uri: "/nowhere", method: .get).expectProblem(.notFound, kind: "not-found")
                let wrongMethod = try await client.execute(uri: "/coupon/apply?userId=1", method: .get)
                try wrongMethod.expectProblem(.methodNotAllowed, kind: "method-not-allowed")
                #expect(wrongMethod.headers[.allow] == "POST")
            }
        }
    }
}
