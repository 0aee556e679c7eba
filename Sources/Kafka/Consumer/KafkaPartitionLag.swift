import Synchronization

/// How far a consumer is behind on one partition it is assigned: the broker's high watermark (from the
/// last Fetch) minus the offset the group has committed.
public struct KafkaPartitionLag: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    /// The next offset to consume, as committed for the group (or where consuming started).
    public var committedOffset: Int64
    /// The offset after the last record the broker has, as of the last Fetch.
    public var highWatermark: Int64

    public init(topic: String, partition: Int32, committedOffset: Int64, highWatermark: Int64) {
        self.topic = topic
        self.partition = partition
        self.committedOffset = committedOffset
        self.highWatermark = highWatermark
    }

    /// Records on the broker and not yet committed; never negative.
    public var lag: Int64 { max(0, self.highWatermark - self.committedOffset) }
}

/// The lag of each partition a consumer holds, updated by its fetch loop and read by whoever exports it.
/// A partition appears once a Fetch has told its high watermark; a rebalance replaces the set.
final class KafkaConsumerProgress: Sendable {
    private struct Entry {
        var committed: Int64
        var highWatermark: Int64?
    }

    private let entries = Mutex<[TopicPartition: Entry]>([:])

    /// A new generation starts at `positions`: only these partitions are held now.
    func assigned(_ positions: [TopicPartition: Int64]) {
        self.entries.withLock { entries in
            var held: [TopicPartition: Entry] = [:]
            for (partition, offset) in positions {
                held[partition] = Entry(committed: offset, highWatermark: entries[partition]?.highWatermark)
            }
            entries = held
        }
    }

    func fetched(_ partition: TopicPartition, highWatermark: Int64) {
        guard highWatermark >= 0 else { return }
        self.entries.withLock { $0[partition]?.highWatermark = highWatermark }
    }

    func committed(_ offsets: [TopicPartition: Int64]) {
        self.entries.withLock { entries in
            for (partition, offset) in offsets { entries[partition]?.committed = offset }
        }
    }

    /// Nothing is held (the consumer stopped).
    func released() {
        self.entries.withLock { $0 = [:] }
    }

    var lags: [KafkaPartitionLag] {
        self.entries.withLock { entries in
            entries.compactMap { partition, entry in
                entry.highWatermark.map {
                    KafkaPartitionLag(topic: partition.topic, partition: partition.partition, committedOffset: entry.committed, highWatermark: $0)
                }
            }
        }
        .sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}
