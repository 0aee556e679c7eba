import NIOCore

/// ApiVersions (key 18): which versions of each API the broker supports. The first request on a connection.
struct ApiVersionsRequest: KafkaRequest {
    typealias Response = ApiVersionsResponse

    static let apiKey = KafkaAPIKey.apiVersions
    static let supportedVersions: ClosedRange<Int16> = 0...3
    static let firstFlexibleVersion: Int16? = 3

    /// Sent from v3 on, so brokers can report which clients connect.
    var clientSoftwareName = "coupongate-kafka"
    var clientSoftwareVersion = "0.1.0"

    func encode(into buffer: inout ByteBuffer, version: Int16) throws {
        guard version >= 3 else { return }  // v0–v2 have an empty body
        try buffer.writeKafkaCompactString(self.clientSoftwareName)
        try buffer.writeKafkaCompactString(self.clientSoftwareVersion)
        buffer.writeKafkaEmptyTaggedFields()
    }

    static func decodeResponse(_ body: inout ByteBuffer, version: Int16) throws -> ApiVersionsResponse {
        // A broker that does not know the version sent answers UNSUPPORTED_VERSION in the v0 layout,
        // listing what it does support, so the client can retry with a version it knows.
        let peekedError = body.getInteger(at: body.readerIndex, endianness: .big, as: Int16.self)
        let layoutVersion = (peekedError == KafkaErrorCode.unsupportedVersion.rawValue) ? 0 : version
        var reader = KafkaBodyReader(body, flexible: Self.isFlexible(layoutVersion), message: "\(Self.name(version)) response")
        let errorCode = try reader.errorCode()
        let apis = try reader.array("api_keys") { reader in
            let key = try reader.int16("api_key")
            let minimum = try reader.int16("min_version")
            let maximum = try reader.int16("max_version")
            try reader.taggedFields()
            return (key: key, minimum: minimum, maximum: maximum)
        }
        let throttleTime = layoutVersion >= 1 ? try reader.int32("throttle_time_ms") : 0
        // Tags 0–3 (supported and finalized features, ZK migration) are not used by this client.
        try reader.taggedFields()
        try reader.finish()
        var versions: [KafkaAPIKey: ClosedRange<Int16>] = [:]
        for api in apis where api.minimum <= api.maximum {
            versions[KafkaAPIKey(rawValue: api.key)] = api.minimum...api.maximum
        }
        return ApiVersionsResponse(errorCode: errorCode, versions: KafkaAPIVersions(versions), throttleTimeMs: throttleTime)
    }
}
