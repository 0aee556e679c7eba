import Logging
import NIOCore
import NIOPosix

/// The cluster as this client sees it: its brokers, the leaders of the topics asked about, and one
/// connection per broker, opened when first needed and opened again after it is lost.
///
/// Metadata is read from any broker that answers (the bootstrap list first) and refreshed when it is
/// older than `metadataMaxAge` or when a caller marks it stale (after `NOT_LEADER_OR_FOLLOWER`,
/// `UNKNOWN_TOPIC_OR_PARTITION` or a lost connection).
actor KafkaCluster {
    /// A topic's partitions and the node leading each (-1 while a partition has no leader).
    struct Topic: Sendable, Hashable {
        var name: String
        var leaders: [Int32]

        var partitionCount: Int32 { Int32(self.leaders.count) }
    }

    let configuration: KafkaClientConfiguration
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private var brokers: [Int32: KafkaBrokerAddress] = [:]
    private var controllerID: Int32 = -1
    private var connections: [Int32: KafkaConnection] = [:]
    /// A connection to a bootstrap broker, for metadata before any node id is known.
    private var bootstrapConnection: KafkaConnection?
    private var topics: [String: (topic: Topic, readAt: ContinuousClock.Instant)] = [:]
    private var isShutDown = false

    init(
        configuration: KafkaClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The connection to broker `node`, opened if there is none or it was lost.
    func connection(toNode node: Int32) async throws -> KafkaConnection {
        if let connection = self.connections[node], connection.channel.isActive { return connection }
        if self.brokers[node] == nil {
            _ = try await self.readMetadata(topics: [])
        }
        guard let address = self.brokers[node] else {
            throw KafkaError(.brokerError, message: "the cluster's metadata names no broker with node id \(node)")
        }
        let connection = try await self.open(address)
        // Another caller may have connected while this one waited: keep one connection per node.
        if let existing = self.connections[node], existing.channel.isActive {
            connection.close()
            return existing
        }
        self.connections[node] = connection
        return connection
    }

    /// A connection to any broker that answers: a node already connected, else the bootstrap
    /// brokers in order, else the other brokers the metadata named.
    func anyConnection() async throws -> KafkaConnection {
        if let connection = self.connections.values.first(where: { $0.channel.isActive }) { return connection }
        if let connection = self.bootstrapConnection, connection.channel.isActive { return connection }
        var failures: [String] = []
        let known = self.brokers.sorted { $0.key < $1.key }.map(\.value)
        for address in self.configuration.brokers + known.filter({ !self.configuration.brokers.contains($0) }) {
            do {
                let connection = try await self.open(address)
                if let existing = self.bootstrapConnection, existing.channel.isActive {
                    connection.close()
                    return existing
                }
                self.bootstrapConnection = connection
                return connection
            } catch let error as KafkaError where error.isSecurityFailure {
                // Another broker of the same cluster refuses the same credentials: say why, not retriable.
                throw error
            } catch {
                failures.append("\(address): \(Self.reason(error))")
            }
        }
        throw KafkaError(.connectionClosed, message: "no Kafka broker answers (\(failures.joined(separator: "; ")))")
    }

    /// `name`'s partitions and leaders, from the cache unless it is stale or `refresh` is set.
    ///
    /// - Throws: `.brokerError` naming the broker's error (`UNKNOWN_TOPIC_OR_PARTITION` for a missing topic).
    func topic(_ name: String, refresh: Bool = false) async throws -> Topic {
        if !refresh, let cached = self.topics[name], ContinuousClock.now - cached.readAt < self.configuration.metadataMaxAge {
            return cached.topic
        }
        let metadata = try await self.readMetadata(topics: [name])
        guard let topic = metadata.topics.first(where: { $0.name == name }) else {
            throw KafkaError(.protocolError, message: "the Metadata response does not mention topic '\(name)'")
        }
        guard !topic.errorCode.isError else {
            throw KafkaError(.brokerError, message: "topic '\(name)': \(topic.errorCode)", brokerCode: topic.errorCode)
        }
        guard let highest = topic.partitions.map(\.partitionIndex).max(), highest >= 0 else {
            throw KafkaError(.brokerError, message: "topic '\(name)' has no partitions", brokerCode: .leaderNotAvailable)
        }
        var leaders = [Int32](repeating: -1, count: Int(highest) + 1)
        for partition in topic.partitions where partition.partitionIndex >= 0 {
            leaders[Int(partition.partitionIndex)] = partition.errorCode.isError ? -1 : partition.leaderID
        }
        let result = Topic(name: name, leaders: leaders)
        self.topics[name] = (result, ContinuousClock.now)
        return result
    }

    /// Forgets `name`'s leaders, so the next `topic(_:)` reads them again.
    func markStale(_ name: String) {
        self.topics[name] = nil
    }

    /// Closes the connection to `node` (after a timeout or a protocol error) so the next call opens a new one.
    func dropConnection(toNode node: Int32) {
        self.connections.removeValue(forKey: node)?.close()
    }

    /// Creates `name` unless it exists. True when this call created it.
    ///
    /// Sent to the controller when the metadata names one (older brokers refuse it elsewhere), else to any broker.
    func createTopic(_ name: String, partitions: Int32, replicationFactor: Int16 = -1) async throws -> Bool {
        _ = try await self.readMetadata(topics: [])
        let connection = self.controllerID >= 0 ? try await self.connection(toNode: self.controllerID) : try await self.anyConnection()
        let request = CreateTopicsRequest(
            topics: [.init(name: name, numPartitions: partitions, replicationFactor: replicationFactor)],
            timeoutMs: Int32(clamping: self.configuration.requestTimeout.components.seconds * 1000)
        )
        let response = try await connection.send(request)
        guard let result = response.topics.first(where: { $0.name == name }) else {
            throw KafkaError(.protocolError, message: "the CreateTopics response does not mention topic '\(name)'")
        }
        switch result.errorCode {
        case .none:
            self.markStale(name)
            return true
        case .topicAlreadyExists:
            return false
        default:
            throw KafkaError(
                .brokerError,
                message: "creating topic '\(name)' failed: \(result.errorCode)\(result.errorMessage.map { ": \($0)" } ?? "")",
                brokerCode: result.errorCode
            )
        }
    }

    /// Closes every connection; later calls open new ones unless `shutdown` was called.
    func shutdown() {
        self.isShutDown = true
        for connection in self.connections.values { connection.close() }
        self.connections = [:]
        self.bootstrapConnection?.close()
        self.bootstrapConnection = nil
    }

    /// Reads the brokers and `topics`' partitions, and keeps the brokers and the controller.
    private func readMetadata(topics: [String]) async throws -> MetadataResponse {
        let connection = try await self.anyConnection()
        let metadata: MetadataResponse
        do {
            metadata = try await connection.send(MetadataRequest(topics: topics))
        } catch let error as KafkaError where error.code == .connectionClosed || error.code == .timeout {
            connection.close()
            throw error
        }
        self.brokers = Dictionary(metadata.brokers.map { ($0.nodeID, KafkaBrokerAddress(host: $0.host, port: Int($0.port))) }) { first, _ in first }
        self.controllerID = metadata.controllerID
        // A connection to a broker that left the cluster is of no further use.
        for node in self.connections.keys where self.brokers[node] == nil {
            self.dropConnection(toNode: node)
        }
        return metadata
    }

    private func open(_ address: KafkaBrokerAddress) async throws -> KafkaConnection {
        guard !self.isShutDown else {
            throw KafkaError(.connectionClosed, message: "the Kafka client is shut down")
        }
        return try await KafkaConnection.connect(
            host: address.host,
            port: address.port,
            configuration: self.configuration.connection,
            eventLoop: self.eventLoopGroup.any(),
            logger: self.logger
        )
    }

    private static func reason(_ error: any Error) -> String {
        (error as? KafkaError)?.message ?? "\(error)"
    }
}
