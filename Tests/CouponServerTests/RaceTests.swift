import CouponCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The drop itself: many more applies than coupons, all at once.
@Suite struct RaceTests {
    struct Answer: Sendable {
        var user: Int64
        var status: HTTPResponse.Status
        var sequence: Int?
        var issuedAt: String?
    }

    static let users = 5_000
    static let applies = 20_000
    static let limit = 100

    /// 20,000 concurrent applies from 5,000 users (4 each) on a limit of 100,
    /// then the same data directory opened by a new app.
    @Test func exactlyTheLimitWinsAndARestartKeepsThem() async throws {
        try await TestSupport.withDirectory { directory in
            let answers = try await TestSupport.withApp(directory: directory, defaultLimit: Int64(Self.limit)) { client in
                try await withThrowingTaskGroup(of: Answer.self) { group in
                    for index in 0..<Self.applies {
                        let user = Int64(index % Self.users + 1)
                        group.addTask {
                            let response = try await client.apply(String(user))
                            let json = try? response.json
                            let coupon = (json?["coupon"] as? [String: Any]) ?? json
                            return Answer(
                                user: user,
                                status: response.status,
                                sequence: coupon?["sequence"] as? Int,
                                issuedAt: coupon?["issuedAt"] as? String
                            )
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            #expect(answers.count == Self.applies)

            let ok = answers.filter { $0.status == .ok }
            let winners = Set(ok.map(\.user))
            #expect(ok.count == Self.limit, "exactly \(Self.limit) answers are 200")
            #expect(winners.count == Self.limit, "each 200 went to a different user")
            #expect(ok.compactMap(\.sequence).sorted() == Array(1...Self.limit), "sequences 1…\(Self.limit), each once")

            let couponOf = Dictionary(uniqueKeysWithValues: ok.map { ($0.user, ($0.sequence, $0.issuedAt)) })
            for answer in answers where answer.status != .ok {
                if winners.contains(answer.user) {
                    #expect(answer.status == .conflict, "a winner's other applies are 409")
                    #expect(answer.sequence == couponOf[answer.user]?.0, "…with the coupon it won")
                    #expect(answer.issuedAt == couponOf[answer.user]?.1)
                } else {
                    #expect(answer.status == .unprocessableContent, "everyone else is 422, got \(answer.status)")
                }
            }

            // SQLite holds exactly those 100 rows.
            let stored = try await TestSupport.storedCoupons(directory: directory)
            #expect(stored.count == Self.limit)
            #expect(Set(stored.map(\.userID.rawValue)) == winners)
            for coupon in stored {
                #expect(couponOf[coupon.userID.rawValue]?.0 == Int(coupon.sequence))
            }

            // A new app on the same directory rebuilds the same state.
            try await TestSupport.withApp(directory: directory, defaultLimit: Int64(Self.limit)) { client in
                let status = try await client.execute(uri: "/campaigns/default", method: .get)
                #expect(try status.json["issued"] as? Int == Self.limit)
                #expect(try status.json["status"] as? String == "sold_out")
                for winner in winners {
                    let again = try await client.apply(String(winner))
                    #expect(again.status == .conflict)
                    let coupon = try #require(try again.json["coupon"] as? [String: Any])
                    #expect(coupon["sequence"] as? Int == couponOf[winner]?.0)
                }
                for loser in [Int64(Self.users + 1), 1_000_000] + (1...Int64(Self.users)).filter({ !winners.contains($0) }).prefix(50) {
                    #expect(try await client.apply(String(loser)).status == .unprocessableContent)
                }
            }
            #expect(try await TestSupport.storedCoupons(directory: directory).count == Self.limit)
        }
    }
}
