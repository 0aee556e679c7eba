/// How to reach a Redis Cluster and how the cluster client behaves.
public struct RedisClusterConfiguration: Sendable {
    /// Nodes asked for the slot map at start (any one that answers is enough); after that, the map's own nodes are.
    public var seeds: [RedisConfiguration.Endpoint]
    /// The settings of every node's connections: credentials, `connectionCount` (per master), timeouts, RESP3.
    /// Its `endpoint` is not used (each node's comes from the slot map), and its database must be 0 (a cluster has no other).
    /// `commandTimeout` is the deadline of a whole call, redirections and retries included.
    public var node: RedisConfiguration
    /// Redirections (MOVED, ASK) and retries (TRYAGAIN, CLUSTERDOWN, no connection up) allowed for one command
    /// after its first send, within its deadline. Default 5.
    public var maximumRedirections: Int
    /// Pause before retrying a command a node refused for now or that could not be sent:
    /// starts at `initial` and doubles up to `maximum`. Default 10 ms … 200 ms.
    public var retryDelay: (initial: Duration, maximum: Duration)
    /// The slot map is fetched again this often, besides after a MOVED or a lost connection. Default 10 s.
    public var refreshInterval: Duration

    /// - Parameters:
    ///   - seeds: one or more nodes of the cluster.
    ///   - node: the connection settings for every node (its endpoint is ignored).
    public init(seeds: [RedisConfiguration.Endpoint], node: RedisConfiguration) {
        self.seeds = seeds
        self.node = node
        self.maximumRedirections = 5
        self.retryDelay = (initial: .milliseconds(10), maximum: .milliseconds(200))
        self.refreshInterval = .seconds(10)
    }

    /// Reads the seeds from `redis://` URLs, one per node; the connection settings (user, password) are the first URL's.
    /// - Throws: `RedisClientError(.invalidConfiguration)` for an invalid URL, an empty list, or a database other than 0.
    public init(urls: [String]) throws {
        let configurations = try urls.map { try RedisConfiguration(url: $0) }
        guard let first = configurations.first else {
            throw RedisClientError(.invalidConfiguration, message: "no Redis Cluster node URL was given")
        }
        self.init(seeds: configurations.map(\.endpoint), node: first)
        try self.validate()
    }

    /// Checks the settings `RedisClusterClient.run()` relies on.
    func validate() throws {
        func check(_ condition: Bool, _ message: String) throws {
            if !condition {
                throw RedisClientError(.invalidConfiguration, message: message)
            }
        }
        try check(!self.seeds.isEmpty, "no seed node is given")
        for seed in self.seeds {
            var node = self.node
            node.endpoint = seed
            try node.validate()
        }
        try check(self.node.database == 0, "database \(self.node.database) is not 0: a Redis Cluster only has database 0")
        try check(self.maximumRedirections >= 0, "maximumRedirections \(self.maximumRedirections) is negative")
        try check(self.retryDelay.initial > .zero, "retryDelay.initial must be positive")
        try check(self.retryDelay.maximum >= self.retryDelay.initial, "retryDelay.maximum is less than retryDelay.initial")
        try check(self.refreshInterval > .zero, "refreshInterval must be positive")
    }

    var limits: ClusterCommandStateMachine.Limits {
        .init(maximumRedirections: self.maximumRedirections, retryDelay: self.retryDelay, commandTimeout: self.node.commandTimeout)
    }

    /// The settings of the connections to one node.
    func node(at endpoint: RedisConfiguration.Endpoint) -> RedisConfiguration {
        var configuration = self.node
        configuration.endpoint = endpoint
        return configuration
    }
}
