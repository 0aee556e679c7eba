import NIOCore

/// Where the load goes: host, port and the apply path, parsed from `--url`.
public struct LoadTarget: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// The apply route; `?userId=N` is appended per request.
    public var path: String

    public init(host: String, port: Int, path: String = "/coupon/apply") {
        self.host = host
        self.port = port
        self.path = path
    }

    /// `http://HOST:PORT` (no path, or `/`); only plain HTTP — the generator measures the
    /// service, not TLS.
    public init(url: String, path: String = "/coupon/apply") throws(LoadGenError) {
        guard url.hasPrefix("http://") else {
            throw LoadGenError.badURL("'\(url)' must start with http:// (https is not supported)")
        }
        var rest = url.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else {
            throw LoadGenError.badURL("'\(url)' must be just http://HOST:PORT; give the route with --path")
        }
        var host = String(rest)
        var port = 80
        if rest.hasPrefix("[") {  // [::1]:8080
            guard let close = rest.firstIndex(of: "]") else { throw LoadGenError.badURL("'\(url)' has an unclosed [") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let value = Int(after.dropFirst()) else {
                    throw LoadGenError.badURL("'\(url)' has a bad port")
                }
                port = value
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            guard let value = Int(rest[rest.index(after: colon)...]) else {
                throw LoadGenError.badURL("'\(url)' has a bad port")
            }
            port = value
        }
        guard !host.isEmpty else { throw LoadGenError.badURL("'\(url)' has no host") }
        guard (1...65535).contains(port) else { throw LoadGenError.badURL("port \(port) is not between 1 and 65535") }
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains(" ") else {
            throw LoadGenError.badOption("--path '\(path)' must start with / and have no query or spaces")
        }
        self.init(host: host, port: port, path: path)
    }

    public var url: String { host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)" }

    var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// The bytes of one apply request, built in a reused buffer: only the user id changes.
struct ApplyRequest {
    private let prefix: [UInt8]
    private let suffix: [UInt8]

    init(target: LoadTarget) {
        prefix = Array("POST \(target.path)?userId=".utf8)
        suffix = Array(" HTTP/1.1\r\nHost: \(target.hostHeader)\r\nContent-Length: 0\r\n\r\n".utf8)
    }

    func write(user: Int64, into buffer: inout ByteBuffer) {
        buffer.clear()
        buffer.writeBytes(prefix)
        // Digits without a String: this runs once per request.
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { scratch in
            var value = UInt64(max(1, user))
            var index = scratch.count
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
            } while value > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
        buffer.writeBytes(suffix)
    }
}
