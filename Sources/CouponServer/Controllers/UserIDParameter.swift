import CouponCore
import Hummingbird

/// Reads the `userId` query parameter of an apply, exactly once.
///
/// This runs for every request of a drop, so the common case — one plain
/// `userId=<digits>` — is found by scanning the request target's bytes in
/// place. Anything percent- or plus-encoded takes Hummingbird's decoder.
enum UserIDParameter {
    static func parse(_ request: Request) throws -> UserID {
        guard let target = request.head.path else { throw self.missing(request) }
        switch self.scan(target) {
        case .one(let value):
            return try UserID(parsing: value)
        case .none:
            throw self.missing(request)
        case .many(let count):
            throw self.repeated(count)
        case .encoded:
            let values = request.uri.queryParameters[values: "userId"]
            guard let value = values.first else { throw self.missing(request) }
            guard values.count == 1 else { throw self.repeated(values.count) }
            return try UserID(parsing: value)
        }
    }

    enum Scan: Equatable {
        case none
        case one(Substring)
        case many(Int)
        /// Some key or value needs decoding; use the full parser.
        case encoded
    }

    static func scan(_ target: String) -> Scan {
        let bytes = target.utf8
        guard let questionMark = bytes.firstIndex(of: UInt8(ascii: "?")) else { return .none }
        var found: Substring?
        var count = 0
        var start = bytes.index(after: questionMark)
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.endIndex
            let pair = target[start..<end]
            if pair.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) {
                return .encoded
            }
            let equals = pair.utf8.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            if pair[..<equals] == "userId" {
                count += 1
                found = equals < pair.endIndex ? pair[pair.utf8.index(after: equals)...] : ""
            }
            start = end < bytes.endIndex ? bytes.index(after: end) : end
        }
        switch count {
        case 0: return .none
        case 1: return .one(found ?? "")
        default: return .many(count)
        }
    }

    private static func missing(_ request: Request) -> Problem {
        Problem(
            .badRequest,
            kind: "invalid-user-id",
            title: "Invalid userId",
            detail: "The userId query parameter is missing; call \(request.uri.path)?userId=<integer from 1 to \(Int64.max)>."
        )
    }

    private static func repeated(_ count: Int) -> Problem {
        Problem(
            .badRequest,
            kind: "invalid-user-id",
            title: "Invalid userId",
            detail: "The userId query parameter is given \(count) times; give it once."
        )
    }
}
