import CouponCore
import RESP

extension RedisCommandSender {
    /// Every winner of a campaign, read with HSCAN so a large campaign does not block Redis.
    func winners(_ keys: RedisKeys) async throws -> [UserID: Coupon] {
        var winners: [UserID: Coupon] = [:]
        var cursor = "0"
        repeat {
            let reply = try await self.send(
                RedisCommand("HSCAN", [.string(keys.winners), .string(cursor), "COUNT", .int(Int64(RedisGate.chunkSize))])
            )
            guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let fields = parts[1].array else {
                throw RedisClientError(.protocolError, message: "HSCAN answered \(reply)")
            }
            var index = 0
            while index + 1 < fields.count {
                if let user = fields[index].string.flatMap(Int64.init).flatMap({ try? UserID($0) }),
                    let coupon = fields[index + 1].string.flatMap({ WinnerValue(parsing: $0) })
                {
                    winners[user] = Coupon(campaignID: keys.campaign, userID: user, sequence: coupon.sequence, issuedAt: coupon.issuedAt)
                }
                index += 2
            }
            cursor = next
        } while cursor != "0"
        return winners
    }
}
