/// A partition of a topic: what a group assigns, fetches and commits offsets for.
struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    var topic: String
    var partition: Int32

    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    var description: String { "\(self.topic)/\(self.partition)" }
}

extension Sequence<KafkaTopicPartition> {
    /// The partitions grouped by topic, topics and partitions sorted, as requests list them.
    func groupedByTopic() -> [(topic: String, partitions: [Int32])] {
        Dictionary(grouping: self, by: \.topic)
            .map { (topic: $0.key, partitions: $0.value.map(\.partition).sorted()) }
            .sorted { $0.topic < $1.topic }
    }
}
