/// Chooses the partition of a keyed record as the Java client's default partitioner does.
public enum KafkaPartitioner {
    /// The partition for `key` among `partitionCount` partitions: `(murmur2(key) & 0x7fffffff) % partitionCount`.
    ///
    /// - Throws: `KafkaError(.invalidArgument)` when `partitionCount` is not positive.
    public static func partition(forKey key: some Collection<UInt8>, partitionCount: Int32) throws -> Int32 {
        guard partitionCount > 0 else {
            throw KafkaError(.invalidArgument, message: "a topic has at least one partition, not \(partitionCount)")
        }
        // Masking, not abs(): Java's toPositive, which also maps Int32.min to 0 instead of overflowing.
        return (Murmur2.hash(key) & 0x7fff_ffff) % partitionCount
    }
}
