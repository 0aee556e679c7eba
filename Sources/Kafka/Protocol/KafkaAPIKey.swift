/// The API keys of the requests this client sends (https://kafka.apache.org/protocol#protocol_api_keys).
struct KafkaAPIKey: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    let rawValue: Int16

    init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    static let produce = KafkaAPIKey(rawValue: 0)
    static let metadata = KafkaAPIKey(rawValue: 3)
    static let apiVersions = KafkaAPIKey(rawValue: 18)
    static let createTopics = KafkaAPIKey(rawValue: 19)
    static let initProducerID = KafkaAPIKey(rawValue: 22)
    static let fetch = KafkaAPIKey(rawValue: 1)
    static let listOffsets = KafkaAPIKey(rawValue: 2)
    static let offsetCommit = KafkaAPIKey(rawValue: 8)
    static let offsetFetch = KafkaAPIKey(rawValue: 9)
    static let findCoordinator = KafkaAPIKey(rawValue: 10)
    static let joinGroup = KafkaAPIKey(rawValue: 11)
    static let heartbeat = KafkaAPIKey(rawValue: 12)
    static let leaveGroup = KafkaAPIKey(rawValue: 13)
    static let syncGroup = KafkaAPIKey(rawValue: 14)
    static let saslHandshake = KafkaAPIKey(rawValue: 17)
    static let saslAuthenticate = KafkaAPIKey(rawValue: 36)

    var description: String {
        switch self {
        case .produce: "Produce"
        case .metadata: "Metadata"
        case .apiVersions: "ApiVersions"
        case .createTopics: "CreateTopics"
        case .initProducerID: "InitProducerId"
        case .fetch: "Fetch"
        case .listOffsets: "ListOffsets"
        case .offsetCommit: "OffsetCommit"
        case .offsetFetch: "OffsetFetch"
        case .findCoordinator: "FindCoordinator"
        case .joinGroup: "JoinGroup"
        case .heartbeat: "Heartbeat"
        case .leaveGroup: "LeaveGroup"
        case .syncGroup: "SyncGroup"
        case .saslHandshake: "SaslHandshake"
        case .saslAuthenticate: "SaslAuthenticate"
        default: "API \(self.rawValue)"
        }
    }
}
