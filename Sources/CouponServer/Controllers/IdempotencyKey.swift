import HTTPTypes
import Hummingbird

/// The `Idempotency-Key` header of an apply: repeating a request with the same key (and user)
/// answers the original 200 and coupon instead of 409.
enum IdempotencyKey {
    static let maximumLength = 128
    static let name = HTTPField.Name("Idempotency-Key")!

    /// The request's key, or nil when it has none.
    ///
    /// - Throws: a 400 `invalid-idempotency-key` problem for an empty or longer key, a key with a
    ///   character outside printable ASCII, or the header given twice.
    static func parse(_ request: Request) throws -> String? {
        // The first lookup allocates nothing: most applies carry no key.
        guard let key = request.headers[Self.name] else { return nil }
        let count = request.headers[values: Self.name].count
        guard count == 1 else {
            throw Self.invalid("Idempotency-Key is given \(count) times; give it once.")
        }
        guard !key.isEmpty, key.utf8.count <= Self.maximumLength else {
            throw Self.invalid("Idempotency-Key is \(key.utf8.count) bytes long; use 1 to \(Self.maximumLength) printable ASCII characters.")
        }
        guard key.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            throw Self.invalid("Idempotency-Key has a character outside printable ASCII; use 1 to \(Self.maximumLength) of them.")
        }
        return key
    }

    private static func invalid(_ detail: String) -> Problem {
        Problem.badRequest(detail, kind: "invalid-idempotency-key")
    }
}
