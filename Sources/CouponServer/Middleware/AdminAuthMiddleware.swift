import HTTPTypes
import Hummingbird

/// Requires `Authorization: Bearer <admin token>` on the admin routes.
struct AdminAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: AdminToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw Self.unauthorized("Admin routes need an 'Authorization: Bearer <admin token>' header.")
        }
        let prefix = "Bearer "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix.lowercased() else {
            throw Self.unauthorized("The Authorization header must use the Bearer scheme: 'Authorization: Bearer <admin token>'.")
        }
        guard self.token.matches(header.dropFirst(prefix.count)) else {
            throw Self.unauthorized("The admin token is not valid.")
        }
        return try await next(request, context)
    }

    private static func unauthorized(_ detail: String) -> Problem {
        Problem(.unauthorized, kind: "unauthorized", title: "Unauthorized", detail: detail)
    }
}

/// The admin bearer token, compared in constant time.
public struct AdminToken: Sendable, Equatable {
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    /// A new random token: 32 bytes from the system's CSPRNG, hex-encoded.
    public static func generate() -> AdminToken {
        var generator = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for _ in 0..<32 {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0xF)])
        }
        return AdminToken(String(decoding: out, as: UTF8.self))
    }

    /// Compares every byte whatever the first difference, so the time taken
    /// does not tell an attacker how much of a guess was right.
    func matches(_ candidate: some StringProtocol) -> Bool {
        let expected = Array(self.value.utf8)
        let given = Array(candidate.utf8)
        var difference = UInt8(expected.count == given.count ? 0 : 1)
        for index in 0..<max(expected.count, given.count) {
            let a = index < expected.count ? expected[index] : 0
            let b = index < given.count ? given[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}
