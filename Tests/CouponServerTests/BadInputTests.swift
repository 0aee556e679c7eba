import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct BadInputTests {
    /// The list, plus a few more: each is a 400 problem naming userId, never a 500.
    @Test func badUserIdsAre400() async throws {
        let values = [
            "abc", "-1", "0", "1e3", "99999999999999999999", String(repeating: "1", count: 10 * 1024), "", "1.5", "%20", "0x1",
            "9223372036854775808", "12%00",
        ]
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                for value in values {
                    let response = try await client.apply(value)
                    try response.expectProblem(.badRequest, kind: "invalid-user-id")
                    let detail = try #require(try response.json["detail"] as? String)
                    #expect(detail.contains("userId"))
                    #expect(detail.count < 300, "the 10 KB value must not be echoed back")
                }
                try await client.execute(uri: "/coupon/apply", method: .post).expectProblem(.badRequest, kind: "invalid-user-id")
                try await client.execute(uri: "/coupon/apply?user=1", method: .post).expectProblem(.badRequest, kind: "invalid-user-id")
                let twice = try await client.execute(uri: "/coupon/apply?userId=1&userId=2", method: .post)
                try twice.expectProblem(.badRequest, kind: "invalid-user-id")
                // None of that issued anything.
                #expect(try await client.execute(uri: "/campaigns/default", method: .get).json["issued"] as? Int == 0)
            }
        }
    }
}
