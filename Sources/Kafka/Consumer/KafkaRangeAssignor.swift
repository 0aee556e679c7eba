/// The "range" assignor, by the Java client's `RangeAssignor` rules (which librdkafka follows too):
/// per topic, the members subscribed to it sorted by member id get contiguous ranges of its partitions
/// sorted by number, and the first `partitions % members` of them one partition more.
enum KafkaRangeAssignor {
    static let name = "range"

    /// - Parameters:
    ///   - subscriptions: each member's subscribed topics, by member id.
    ///   - partitionCounts: the number of partitions of each topic; topics missing here are not assigned.
    /// - Returns: every member's partitions (members given nothing included, with none).
    static func assign(subscriptions: [String: [String]], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        var assignment = subscriptions.mapValues { _ in [TopicPartition]() }
        var membersByTopic: [String: [String]] = [:]
        for (member, topics) in subscriptions {
            for topic in Set(topics) {
                membersByTopic[topic, default: []].append(member)
            }
        }
        for (topic, unsortedMembers) in membersByTopic {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            let members = unsortedMembers.sorted()
            let perMember = Int(count) / members.count
            let extra = Int(count) % members.count
            var next = 0
            for (index, member) in members.enumerated() {
                let length = perMember + (index < extra ? 1 : 0)
                assignment[member, default: []] += (next..<next + length).map { TopicPartition(topic: topic, partition: Int32($0)) }
                next += length
            }
        }
        return assignment.mapValues { $0.sorted() }
    }
}
