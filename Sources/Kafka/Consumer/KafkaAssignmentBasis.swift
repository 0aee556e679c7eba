/// The partition counts of the subscribed topics that the group's leader computed an assignment from.
///
/// Only a rebalance gives a new assignment, so the leader compares these with fresh metadata while the
/// generation runs: a topic that appeared (e.g. created by a producer after the group formed), disappeared
/// or changed its partition count makes it rejoin, as the Java client and librdkafka do.
struct KafkaAssignmentBasis: Sendable, Hashable {
    /// How often the leader looks while a subscribed topic is missing: a producer may be about to create it.
    static let missingTopicCheckInterval: Duration = .seconds(2)

    /// A topic as the metadata shows it now.
    enum Observation: Sendable, Hashable {
        case partitions(Int32)
        /// UNKNOWN_TOPIC_OR_PARTITION.
        case missing
    }

    /// Every topic some member of the group subscribed to, sorted.
    let topics: [String]
    /// The partition count of each of `topics` that had partitions; the others were not assigned.
    let partitionCounts: [String: Int32]

    init(topics: some Sequence<String>, partitionCounts: [String: Int32]) {
        self.topics = Set(topics).sorted()
        self.partitionCounts = partitionCounts.filter { $0.value > 0 }
    }

    /// Whether some subscribed topic was not assigned for want of partitions.
    var hasMissingTopic: Bool {
        self.topics.contains { self.partitionCounts[$0] == nil }
    }

    /// How long the leader waits between two looks at the metadata.
    func checkInterval(metadataMaxAge: Duration) -> Duration {
        self.hasMissingTopic ? min(Self.missingTopicCheckInterval, metadataMaxAge) : metadataMaxAge
    }

    /// Why `current` calls for a new assignment (each difference, for the log), nil when it matches.
    /// Topics left out of `current` (their metadata could not be read this time) count as unchanged.
    func change(_ current: [String: Observation]) -> String? {
        var changes: [String] = []
        for topic in self.topics {
            guard let observed = current[topic] else { continue }
            let count: Int32? =
                switch observed {
                case .partitions(let count) where count > 0: count
                case .partitions, .missing: nil
                }
            switch (self.partitionCounts[topic], count) {
            case (nil, .some(let count)):
                changes.append("subscribed topic '\(topic)' now exists with \(count) partitions")
            case (.some, nil):
                changes.append("subscribed topic '\(topic)' no longer exists")
            case (.some(let assigned), .some(let count)) where assigned != count:
                changes.append("subscribed topic '\(topic)' has \(count) partitions, not \(assigned)")
            default:
                continue
            }
        }
        return changes.isEmpty ? nil : changes.joined(separator: "; ")
    }
}
