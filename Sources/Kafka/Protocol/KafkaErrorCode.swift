/// A broker's error code (https://kafka.apache.org/protocol#protocol_error_codes), named when this client knows it.
struct KafkaErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    let rawValue: Int16

    init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    static let none = KafkaErrorCode(rawValue: 0)
    static let unknownTopicOrPartition = KafkaErrorCode(rawValue: 3)
    static let leaderNotAvailable = KafkaErrorCode(rawValue: 5)
    static let notLeaderOrFollower = KafkaErrorCode(rawValue: 6)
    static let requestTimedOut = KafkaErrorCode(rawValue: 7)
    static let networkException = KafkaErrorCode(rawValue: 13)
    static let notEnoughReplicas = KafkaErrorCode(rawValue: 19)
    static let notEnoughReplicasAfterAppend = KafkaErrorCode(rawValue: 20)
    static let notController = KafkaErrorCode(rawValue: 41)
    static let outOfOrderSequenceNumber = KafkaErrorCode(rawValue: 45)
    static let duplicateSequenceNumber = KafkaErrorCode(rawValue: 46)
    static let invalidProducerEpoch = KafkaErrorCode(rawValue: 47)
    static let unknownProducerID = KafkaErrorCode(rawValue: 59)
    static let kafkaStorageError = KafkaErrorCode(rawValue: 56)
    static let unsupportedVersion = KafkaErrorCode(rawValue: 35)
    static let topicAlreadyExists = KafkaErrorCode(rawValue: 36)
    static let offsetOutOfRange = KafkaErrorCode(rawValue: 1)
    static let coordinatorLoadInProgress = KafkaErrorCode(rawValue: 14)
    static let coordinatorNotAvailable = KafkaErrorCode(rawValue: 15)
    static let notCoordinator = KafkaErrorCode(rawValue: 16)
    static let illegalGeneration = KafkaErrorCode(rawValue: 22)
    static let unknownMemberID = KafkaErrorCode(rawValue: 25)
    static let rebalanceInProgress = KafkaErrorCode(rawValue: 27)
    static let fencedLeaderEpoch = KafkaErrorCode(rawValue: 74)
    static let unknownLeaderEpoch = KafkaErrorCode(rawValue: 75)
    static let memberIDRequired = KafkaErrorCode(rawValue: 79)
    static let inconsistentGroupProtocol = KafkaErrorCode(rawValue: 23)
    static let invalidGroupID = KafkaErrorCode(rawValue: 24)
    static let invalidSessionTimeout = KafkaErrorCode(rawValue: 26)
    static let topicAuthorizationFailed = KafkaErrorCode(rawValue: 29)
    static let groupAuthorizationFailed = KafkaErrorCode(rawValue: 30)
    static let unstableOffsetCommit = KafkaErrorCode(rawValue: 88)
    static let unsupportedSaslMechanism = KafkaErrorCode(rawValue: 33)
    static let illegalSaslState = KafkaErrorCode(rawValue: 34)
    static let saslAuthenticationFailed = KafkaErrorCode(rawValue: 58)

    private static let names: [Int16: String] = [
        -1: "UNKNOWN_SERVER_ERROR", 0: "NONE", 1: "OFFSET_OUT_OF_RANGE", 2: "CORRUPT_MESSAGE",
        3: "UNKNOWN_TOPIC_OR_PARTITION", 4: "INVALID_FETCH_SIZE", 5: "LEADER_NOT_AVAILABLE",
        6: "NOT_LEADER_OR_FOLLOWER", 7: "REQUEST_TIMED_OUT", 10: "MESSAGE_TOO_LARGE", 13: "NETWORK_EXCEPTION",
        14: "COORDINATOR_LOAD_IN_PROGRESS", 15: "COORDINATOR_NOT_AVAILABLE", 16: "NOT_COORDINATOR",
        17: "INVALID_TOPIC_EXCEPTION", 19: "NOT_ENOUGH_REPLICAS", 20: "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        21: "INVALID_REQUIRED_ACKS", 22: "ILLEGAL_GENERATION", 23: "INCONSISTENT_GROUP_PROTOCOL", 24: "INVALID_GROUP_ID",
        25: "UNKNOWN_MEMBER_ID", 26: "INVALID_SESSION_TIMEOUT", 27: "REBALANCE_IN_PROGRESS", 28: "INVALID_COMMIT_OFFSET_SIZE",
        29: "TOPIC_AUTHORIZATION_FAILED", 30: "GROUP_AUTHORIZATION_FAILED", 31: "CLUSTER_AUTHORIZATION_FAILED",
        33: "UNSUPPORTED_SASL_MECHANISM", 34: "ILLEGAL_SASL_STATE",
        35: "UNSUPPORTED_VERSION", 36: "TOPIC_ALREADY_EXISTS", 37: "INVALID_PARTITIONS", 38: "INVALID_REPLICATION_FACTOR",
        40: "INVALID_CONFIG", 41: "NOT_CONTROLLER", 42: "INVALID_REQUEST", 43: "UNSUPPORTED_FOR_MESSAGE_FORMAT",
        45: "OUT_OF_ORDER_SEQUENCE_NUMBER", 46: "DUPLICATE_SEQUENCE_NUMBER", 47: "INVALID_PRODUCER_EPOCH",
        53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", 56: "KAFKA_STORAGE_ERROR", 58: "SASL_AUTHENTICATION_FAILED", 59: "UNKNOWN_PRODUCER_ID",
        74: "FENCED_LEADER_EPOCH", 75: "UNKNOWN_LEADER_EPOCH", 79: "MEMBER_ID_REQUIRED", 87: "INVALID_RECORD",
        88: "UNSTABLE_OFFSET_COMMIT",
    ]

    var isError: Bool { self.rawValue != 0 }

    /// Whether the same request may succeed if sent again (after a metadata refresh for the leader errors).
    var isRetriable: Bool {
        Self.retriable.contains(self)
    }

    private static let retriable: Set<KafkaErrorCode> = [
        .unknownTopicOrPartition, .leaderNotAvailable, .notLeaderOrFollower, .requestTimedOut, .networkException,
        .notEnoughReplicas, .notEnoughReplicasAfterAppend, .notController, .kafkaStorageError,
        KafkaErrorCode(rawValue: 14),  // COORDINATOR_LOAD_IN_PROGRESS
        KafkaErrorCode(rawValue: 15),  // COORDINATOR_NOT_AVAILABLE
        KafkaErrorCode(rawValue: 16),  // NOT_COORDINATOR
    ]

    /// E.g. `UNKNOWN_TOPIC_OR_PARTITION (3)`.
    var description: String {
        "\(Self.names[self.rawValue] ?? "error") (\(self.rawValue))"
    }
}
