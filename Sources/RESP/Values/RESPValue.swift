import NIOCore

/// A reply from Redis, RESP2 or RESP3.
///
/// RESP3 sets and push frames are decoded to `.array`, big numbers to `.simpleString`
/// and verbatim strings to `.bulkString` (without their `txt:` prefix); attributes are skipped.
public enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    /// A non-null bulk string: binary safe, so it stays a `ByteBuffer`.
    case bulkString(ByteBuffer)
    case integer(Int64)
    case double(Double)
    case boolean(Bool)
    /// RESP2 null bulk string (`$-1`) and null array (`*-1`), and RESP3 null (`_`).
    case null
    case array([RESPValue])
    case map([RESPValue: RESPValue])
    /// A simple (`-`) or bulk (`!`) error, e.g. `NOSCRIPT No matching script. Please use EVAL.`
    case error(String)
}

extension RESPValue {
    /// The value as text: simple and bulk strings (UTF-8), integers and doubles in decimal.
    /// `nil` for null, booleans, aggregates and errors (so an error reply is never mistaken for data).
    public var string: String? {
        switch self {
        case .simpleString(let string):
            string
        case .bulkString(let buffer):
            String(buffer: buffer)
        case .integer(let integer):
            String(integer)
        case .double(let double):
            String(double)
        case .boolean, .null, .array, .map, .error:
            nil
        }
    }

    /// The value as an integer: an integer reply, or a string that parses as `Int64` (`GET` of a counter).
    public var int: Int64? {
        switch self {
        case .integer(let integer):
            integer
        case .simpleString(let string):
            Int64(string)
        case .bulkString(let buffer):
            // Counters are short; refuse long strings before building a String from them.
            buffer.readableBytes <= 20 ? Int64(String(buffer: buffer)) : nil
        case .double, .boolean, .null, .array, .map, .error:
            nil
        }
    }

    /// The elements of an array (or RESP3 set or push) reply.
    public var array: [RESPValue]? {
        if case .array(let elements) = self {
            return elements
        }
        return nil
    }

    /// Whether this is a null reply (a missing key, a timed-out blocking pop).
    public var isNull: Bool {
        if case .null = self {
            return true
        }
        return false
    }
}

extension RESPValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .simpleString(let string):
            "+\(string)"
        case .bulkString(let buffer):
            "\"\(String(buffer: buffer))\""
        case .integer(let integer):
            ":\(integer)"
        case .double(let double):
            ",\(double)"
        case .boolean(let boolean):
            boolean ? "#t" : "#f"
        case .null:
            "null"
        case .array(let elements):
            "[\(elements.map(\.description).joined(separator: ", "))]"
        case .map(let map):
            "{\(map.map { "\($0.key): \($0.value)" }.joined(separator: ", "))}"
        case .error(let message):
            "-\(message)"
        }
    }
}
