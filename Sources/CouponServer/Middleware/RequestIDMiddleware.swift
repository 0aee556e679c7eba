import HTTPTypes
import Hummingbird
import Synchronization

/// Gives every response an `X-Request-Id`: the client's when it sent a usable one (up to
/// 128 visible ASCII characters), else a new one unique in this process.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = CouponRequestContext

    static let header = HTTPField.Name("X-Request-Id")!
    static let maxLength = 128

    /// Starts at a random point so two processes' ids rarely meet; at most 15 hex digits,
    /// which Swift keeps inline in the String (no allocation per request). One per server,
    /// shared with the sold-out fast path, so ids stay unique across both.
    final class Counter: Sendable {
        let next = Atomic<UInt64>(UInt64.random(in: 0..<(1 << 52)))

        func generate() -> String {
            let value = self.next.wrappingAdd(1, ordering: .relaxed).oldValue & ((1 << 60) - 1)
            return String(value, radix: 16)
        }
    }

    let counter = Counter()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Self.usable(request.headers[Self.header]) ?? self.generate()
        var response = try await next(request, context)
        response.headers[Self.header] = context.requestID
        return response
    }

    func generate() -> String {
        self.counter.generate()
    }

    /// The client's id if it is safe to echo and log: non-empty, short, visible ASCII.
    static func usable(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= maxLength,
            value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        return value
    }
}
