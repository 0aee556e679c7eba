import NIOCore

/// A request of one Kafka API: its key, the versions this client can encode, how to encode its body,
/// and how to decode the response body.
///
/// The version is chosen per connection from the broker's ApiVersions (`KafkaAPIVersions.negotiate`)
/// and passed to `encode` and `decodeResponse`; the headers around the body are written by the connection.
protocol KafkaRequest: Sendable {
    associatedtype Response: Sendable

    static var apiKey: KafkaAPIKey { get }
    /// The versions this client can encode and decode.
    static var supportedVersions: ClosedRange<Int16> { get }
    /// The first version using the flexible encoding (compact types, tagged fields), nil when none this client speaks.
    static var firstFlexibleVersion: Int16? { get }

    /// Writes the request body (after the header) for `version`.
    func encode(into buffer: inout ByteBuffer, version: Int16) throws

    /// Decodes the response body (after the header) for `version`.
    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> Response
}

extension KafkaRequest {
    static func isFlexible(_ version: Int16) -> Bool {
        guard let first = Self.firstFlexibleVersion else { return false }
        return version >= first
    }

    /// Request header v2 (with tagged fields) for flexible versions, v1 otherwise.
    static func requestHeaderVersion(_ version: Int16) -> Int16 {
        Self.isFlexible(version) ? 2 : 1
    }

    /// Response header v1 (with tagged fields) for flexible versions, v0 otherwise.
    static func responseHeaderVersion(_ version: Int16) -> Int16 {
        // ApiVersions answers with header v0 whatever the version, so a client that sent a version
        // the broker does not know can still read the reply.
        guard Self.apiKey != .apiVersions else { return 0 }
        return Self.isFlexible(version) ? 1 : 0
    }

    /// "Metadata v9", for error messages.
    static func name(_ version: Int16) -> String {
        "\(Self.apiKey) v\(version)"
    }
}

extension ByteBuffer {
    /// Writes a whole request: the INT32 size, the request header (v1 or v2), then the body.
    mutating func writeKafkaRequest<Request: KafkaRequest>(
        _ request: Request,
        version: Int16,
        correlationID: Int32,
        clientID: String?
    ) throws {
        let start = self.writerIndex
        self.writeKafkaInt32(0)  // size, set below
        do {
            self.writeKafkaInt16(Request.apiKey.rawValue)
            self.writeKafkaInt16(version)
            self.writeKafkaInt32(correlationID)
            // The client id stays a NULLABLE_STRING in header v2: it is read before the version is known.
            try self.writeKafkaNullableString(clientID)
            if Request.requestHeaderVersion(version) >= 2 {
                self.writeKafkaEmptyTaggedFields()
            }
            try request.encode(into: &self, version: version)
        } catch {
            self.moveWriterIndex(to: start)
            throw error
        }
        self.setInteger(Int32(self.writerIndex - start - 4), at: start, endianness: .big)
    }

    /// Reads a response header (v0: correlation id; v1: also tagged fields) from a whole response frame.
    mutating func readKafkaResponseHeader(version: Int16) throws -> Int32 {
        let truncated = KafkaError(.protocolError, message: "response truncated in its header")
        let correlationID = try self.readKafkaInt32().unwrap(or: truncated)
        if version >= 1 {
            _ = try self.readKafkaTaggedFields().unwrap(or: truncated)
        }
        return correlationID
    }
}
