/// The broker's answer to ApiVersions.
struct ApiVersionsResponse: Sendable, Hashable {
    var errorCode: KafkaErrorCode
    var versions: KafkaAPIVersions
    var throttleTimeMs: Int32
}
