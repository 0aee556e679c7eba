import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CouponServer

@Suite struct UserIDParameterTests {
    @Test(arguments: [
        ("/coupon/apply?userId=42", UserIDParameter.Scan.one("42")),
        ("/coupon/apply?a=1&userId=42&b=2", .one("42")),
        ("/coupon/apply?userId=", .one("")),
        ("/coupon/apply?userId", .one("")),
        ("/coupon/apply", .none),
        ("/coupon/apply?", .none),
        ("/coupon/apply?userid=1&user=2", .none),
        ("/coupon/apply?userId=1&userId=2", .many(2)),
        ("/coupon/apply?userId=%31", .encoded),
        ("/coupon/apply?user%49d=1", .encoded),
        ("/coupon/apply?userId=+1", .encoded),
    ])
    func scansTheTargetInPlace(target: String, expected: UserIDParameter.Scan) {
        #expect(UserIDParameter.scan(target) == expected)
    }
}

@Suite struct EncodedUserIDTests {
    @Test func percentEncodedDigitsAreDecodedFirst() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let response = try await client.apply("%34%32")
                #expect(response.status == .ok)
                #expect(try response.json["userId"] as? Int == 42)
                try await client.apply("%2D1").expectProblem(.badRequest, kind: "invalid-user-id")
            }
        }
    }
}
