/// The brokers of the cluster and the partitions of the topics asked for.
struct MetadataResponse: Sendable, Hashable {
    struct Broker: Sendable, Hashable {
        var nodeID: Int32
        var host: String
        var port: Int32
        var rack: String?
    }

    struct Partition: Sendable, Hashable {
        var errorCode: KafkaErrorCode
        var partitionIndex: Int32
        /// The broker to produce to; -1 while there is no leader.
        var leaderID: Int32
        var leaderEpoch: Int32
        var replicaNodes: [Int32]
        var isrNodes: [Int32]
        var offlineReplicas: [Int32]
    }

    struct Topic: Sendable, Hashable {
        var errorCode: KafkaErrorCode
        var name: String
        var isInternal: Bool
        var partitions: [Partition]
    }

    var throttleTimeMs: Int32
    var brokers: [Broker]
    var clusterID: String?
    var controllerID: Int32
    var topics: [Topic]
}
