import CouponCore
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct AdminRoutesTests {
    @Test func createReturns201AndRefusesADuplicateId() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let created = try await client.createCampaign(#"{"id":"drop-1","name":"Drop 1","limit":100000000}"#)
                #expect(created.status == .created)
                let json = try created.json
                #expect(json["id"] as? String == "drop-1")
                #expect(json["limit"] as? Int == 100_000_000)
                #expect(json["issued"] as? Int == 0)
                let again = try await client.createCampaign(#"{"id":"drop-1","name":"Again","limit":5}"#)
                try again.expectProblem(.conflict, kind: "campaign-exists")
            }
        }
    }

    @Test func resetEmptiesTheCampaignSoItCanBeDroppedAgain() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory, defaultLimit: 1) { client in
                #expect(try await client.apply("1").status == .ok)
                #expect(try await client.apply("2").status == .unprocessableContent)
                let reset = try await client.execute(uri: "/admin/campaigns/default/reset", method: .post, headers: TestSupport.adminHeaders)
                #expect(reset.status == .ok)
                #expect(try reset.json["issued"] as? Int == 0)
                let won = try await client.apply("2")
                #expect(won.status == .ok)
                #expect(try won.json["sequence"] as? Int == 1)
                // User 1's coupon went with the reset.
                #expect(try await client.apply("1").status == .unprocessableContent)
                try await client.execute(uri: "/admin/campaigns/ghost/reset", method: .post, headers: TestSupport.adminHeaders)
                    .expectProblem(.notFound, kind: "unknown-campaign")
            }
            #expect(try await TestSupport.storedCoupons(directory: directory).map(\.userID.rawValue) == [2])
        }
    }

    @Test(arguments: [
        ("missing", HTTPFields()),
        ("wrong token", [.authorization: "Bearer not-the-token-at-all"] as HTTPFields),
        ("token prefix", [.authorization: "Bearer \(TestSupport.adminToken.dropLast())"] as HTTPFields),
        ("longer token", [.authorization: "Bearer \(TestSupport.adminToken)x"] as HTTPFields),
        ("basic scheme", [.authorization: "Basic \(TestSupport.adminToken)"] as HTTPFields),
        ("bare scheme", [.authorization: "Bearer "] as HTTPFields),
    ])
    func adminRoutesNeedTheToken(label: String, headers: HTTPFields) async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let create = try await client.createCampaign(#"{"id":"x","name":"X","limit":1}"#, headers: headers)
                try create.expectProblem(.unauthorized, kind: "unauthorized")
                let reset = try await client.execute(uri: "/admin/campaigns/default/reset", method: .post, headers: headers)
                try reset.expectProblem(.unauthorized, kind: "unauthorized")
                #expect(try await client.execute(uri: "/campaigns/x", method: .get).status == .notFound, "\(label) created a campaign")
            }
        }
    }

    @Test func theSchemeIsCaseInsensitive() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let headers: HTTPFields = [.authorization: "bearer \(TestSupport.adminToken)", .contentType: "application/json"]
                let response = try await client.createCampaign(#"{"id":"x","name":"X","limit":1}"#, headers: headers)
                #expect(response.status == .created)
            }
        }
    }

    @Test(arguments: [
        (#"{"id":"c","name":"C","limit":0}"#, "limit"),
        (#"{"id":"c","name":"C","limit":-5}"#, "limit"),
        (#"{"id":"c","name":"C","limit":100000001}"#, "limit"),
        (#"{"id":"c","name":"C","limit":1e30}"#, "limit"),
        (#"{"id":"c","name":"C","limit":99999999999999999999999}"#, "limit"),
        (#"{"id":"c","name":"C","limit":1.5}"#, "limit"),
        (#"{"id":"c","name":"C","limit":"10"}"#, "limit"),
        (#"{"id":"c","name":"C"}"#, "limit"),
        (#"{"name":"C","limit":1}"#, "id"),
        (#"{"id":"c","limit":1}"#, "name"),
        (#"{"id":"c","name":"","limit":1}"#, "name"),
        (#"{"id":"bad id","name":"C","limit":1}"#, "id"),
        (#"{"id":"","name":"C","limit":1}"#, "id"),
        (#"{"id":"c","name":"C","limit":1,"startsAt":"tomorrow"}"#, "startsAt"),
        (#"{"id":"c","name":"C","limit":1,"startsAt":"0001-01-01T00:00:00Z"}"#, "startsAt"),
        (#"{"id":"c","name":"C","limit":1,"endsAt":"1969-12-31T23:59:59Z"}"#, "endsAt"),
        (#"{"id":"c","name":"C","limit":1,"endsAt":12345}"#, "endsAt"),
        (#"{"id":"c","name":"C","limit":1,"startsAt":"2026-12-02T00:00:00Z","endsAt":"2026-12-01T00:00:00Z"}"#, "endsAt"),
        (#"{"id":"c","name":"C","limit":1"#, "JSON"),
        (#"[1,2,3]"#, "object"),
        (#""#, "JSON"),
        (#"null"#, "object"),
    ])
    func badCampaignBodiesAre400NamingTheField(body: String, mentions: String) async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let response = try await client.createCampaign(body)
                #expect(response.status == .badRequest, "\(body) → \(String(buffer: response.body))")
                #expect(response.isProblem)
                let detail = try #require(try response.json["detail"] as? String)
                #expect(detail.contains(mentions), "\(body) → \(detail)")
                #expect(try await client.execute(uri: "/campaigns/c", method: .get).status == .notFound)
            }
        }
    }

    @Test func oversizedAndNonJSONBodiesAreRefused() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let huge = #"{"id":"c","name":"C","limit":1,"pad":""# + String(repeating: "x", count: 64 * 1024) + #""}"#
                try await client.createCampaign(huge).expectProblem(.contentTooLarge, kind: "body-too-large")
                var headers = TestSupport.adminHeaders
                headers[.contentType] = "text/plain"
                try await client.createCampaign(#"{"id":"c","name":"C","limit":1}"#, headers: headers)
                    .expectProblem(.unsupportedMediaType, kind: "unsupported-media-type")
            }
        }
    }
}
