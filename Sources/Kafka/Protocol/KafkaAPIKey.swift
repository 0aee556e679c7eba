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

    var description: String {
        switch self {
        case .produce: "Produce"
        case .metadata: "Metadata"
        case .apiVersions: "ApiVersions"
        case .createTopics: "CreateTopics"
        case .initProducerID: "InitProducerId"
        default: "API \(self.rawValue)"
        }
    }
}
