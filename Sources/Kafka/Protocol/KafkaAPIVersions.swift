/// The version ranges a broker supports, from its ApiVersions response, and the choice of version per request.
struct KafkaAPIVersions: Sendable, Hashable {
    private(set) var ranges: [KafkaAPIKey: ClosedRange<Int16>]

    init(_ ranges: [KafkaAPIKey: ClosedRange<Int16>]) {
        self.ranges = ranges
    }

    subscript(key: KafkaAPIKey) -> ClosedRange<Int16>? { self.ranges[key] }

    /// The highest version of `Request` that both this client and the broker support.
    ///
    /// - Throws: `KafkaError(.unsupportedVersion)` naming the API and both ranges when they do not overlap,
    ///   or when the broker does not offer the API at all.
    func negotiate<Request: KafkaRequest>(_ request: Request.Type) throws -> Int16 {
        let ours = Request.supportedVersions
        guard let theirs = self.ranges[Request.apiKey] else {
            throw KafkaError(
                .unsupportedVersion,
                message: "the broker does not support \(Request.apiKey) at all; this client speaks v\(ours.lowerBound)–v\(ours.upperBound)"
            )
        }
        guard ours.overlaps(theirs) else {
            throw KafkaError(
                .unsupportedVersion,
                message: "no common version of \(Request.apiKey): the broker supports v\(theirs.lowerBound)–v\(theirs.upperBound), "
                    + "this client v\(ours.lowerBound)–v\(ours.upperBound)"
            )
        }
        return min(ours.upperBound, theirs.upperBound)
    }
}
