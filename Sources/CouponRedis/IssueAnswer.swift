import CouponCore
import RESP

/// What the gate script answered for one user (see ``IssueScript``).
enum IssueAnswer: Sendable, Equatable {
    case issued(sequence: Int64, at: Timestamp)
    case duplicate(sequence: Int64, at: Timestamp)
    /// The win this user's idempotency key got earlier: the original answer again.
    case again(sequence: Int64, at: Timestamp)
    /// The idempotency key won a coupon for another user.
    case keyUsed
    /// A win (new, repeated or earlier) whose write did not reach the replicas `--redis-wait-replicas`
    /// asks for within the wait: not answered 200, since a failover could lose it.
    case unreplicated(acknowledged: Int64, wanted: Int)
    /// `epoch` is the campaign's generation, so a sold-out answer can be cached for it alone.
    case soldOut(issued: Int64, epoch: Int64)
    case notOpen(startsAt: Timestamp)
    case closed(endsAt: Timestamp)
    case rateLimited(waitMilliseconds: Int64)

    /// Parses a `BATCH` reply for `count` users; nil when the reply is `NOCAMPAIGN`.
    /// - Throws: `.protocolError` for any other shape: a wrong answer must never become a coupon.
    static func parse(_ reply: RESPValue, count: Int) throws -> [IssueAnswer]? {
        let words = reply.array?.compactMap(\.string) ?? []
        if words == ["NOCAMPAIGN"] {
            return nil
        }
        func malformed() -> RedisClientError {
            RedisClientError(.protocolError, message: "the issue script answered \(reply) for \(count) users")
        }
        guard words.count == 2 + 3 * count, words[0] == "BATCH", let epoch = Int64(words[1]) else {
            throw malformed()
        }
        var answers: [IssueAnswer] = []
        answers.reserveCapacity(count)
        for index in 0..<count {
            let base = 2 + 3 * index
            if words[base] == "KEYUSED" {
                answers.append(.keyUsed)
                continue
            }
            guard let number = Int64(words[base + 1]) else { throw malformed() }
            let time = Timestamp(millisecondsSince1970: number)
            switch words[base] {
            case "OK":
                guard let at = Int64(words[base + 2]) else { throw malformed() }
                answers.append(.issued(sequence: number, at: Timestamp(millisecondsSince1970: at)))
            case "DUP":
                guard let at = Int64(words[base + 2]) else { throw malformed() }
                answers.append(.duplicate(sequence: number, at: Timestamp(millisecondsSince1970: at)))
            case "AGAIN":
                guard let at = Int64(words[base + 2]) else { throw malformed() }
                answers.append(.again(sequence: number, at: Timestamp(millisecondsSince1970: at)))
            case "SOLDOUT":
                answers.append(.soldOut(issued: number, epoch: epoch))
            case "NOTOPEN":
                answers.append(.notOpen(startsAt: time))
            case "CLOSED":
                answers.append(.closed(endsAt: time))
            case "LIMITED":
                answers.append(.rateLimited(waitMilliseconds: number))
            default:
                throw malformed()
            }
        }
        return answers
    }
}
