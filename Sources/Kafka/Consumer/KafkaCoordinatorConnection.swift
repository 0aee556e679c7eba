import Logging
import NIOCore

/// The consumer's own connection to its group's coordinator, apart from the cluster's connections.
///
/// The coordinator holds a JoinGroup until every member rejoined, up to the longest rebalance timeout in the
/// group (5 min with the Java client's and librdkafka's defaults), so this connection's deadline is that long;
/// the cluster's connections keep the short request timeout, and heartbeats never queue behind a Fetch.
actor KafkaCoordinatorConnection {
    private let configuration: KafkaConnection.Configuration
    private let logger: Logger
    private var coordinator: KafkaConsumerGroupStateMachine.Coordinator?
    private var connection: KafkaConnection?

    init(configuration: KafkaConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The connection to `coordinator`, opened when there is none, it was lost, or the coordinator moved.
    func connection(to coordinator: KafkaConsumerGroupStateMachine.Coordinator) async throws -> KafkaConnection {
        if coordinator == self.coordinator, let connection = self.connection, connection.channel.isActive {
            return connection
        }
        let opened = try await KafkaConnection.connect(
            host: coordinator.host,
            port: Int(coordinator.port),
            configuration: self.configuration,
            logger: self.logger
        )
        // Another caller may have connected while this one waited: keep one connection.
        if coordinator == self.coordinator, let existing = self.connection, existing.channel.isActive {
            opened.close()
            return existing
        }
        self.connection?.close()
        self.coordinator = coordinator
        self.connection = opened
        return opened
    }

    func close() {
        self.connection?.close()
        self.connection = nil
        self.coordinator = nil
    }
}
