extension TopicPartition: Comparable {
    /// By topic, then partition: the order assignments and requests list partitions in.
    static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}

extension Sequence<TopicPartition> {
    /// The partitions grouped by topic, topics and partitions sorted, as requests list them.
    func groupedByTopic() -> [(topic: String, partitions: [Int32])] {
        Dictionary(grouping: self, by: \.topic)
            .map { (topic: $0.key, partitions: $0.value.map(\.partition).sorted()) }
            .sorted { $0.topic < $1.topic }
    }
}
