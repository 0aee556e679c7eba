import Logging
import NIOCore
import Synchronization

extension RedisClusterClient {
    /// At most this many refreshes a second, however many MOVED replies or lost connections ask for one.
    private static let minimumRefreshSpacing = Duration.milliseconds(100)

    /// Refreshes the slot map whenever asked, retrying with backoff while no node answers; runs until cancelled.
    func refreshSlotMapWhenAsked() async {
        for await _ in self.refreshRequests {
            var delay = self.configuration.node.reconnectDelay.initial
            while await !self.refreshSlotMap() {
                guard (try? await Task.sleep(for: delay)) != nil else { return }
                delay = min(delay * 2, self.configuration.node.reconnectDelay.maximum)
            }
            guard (try? await Task.sleep(for: Self.minimumRefreshSpacing)) != nil else { return }
        }
    }

    /// Asks for a refresh every `refreshInterval`, so a change no command ran into (a new replica, a master
    /// that took slots from an idle one) is seen too; runs until cancelled.
    func refreshSlotMapPeriodically() async {
        while (try? await Task.sleep(for: self.configuration.refreshInterval)) != nil {
            self.requestRefresh()
        }
    }

    /// Fetches the slot map from the first node that answers and installs it; false when none did.
    ///
    /// Masters with a connection up are asked first (no new connection needed), then the seeds, then any other
    /// node of the last map (replicas), each on a short-lived connection.
    private func refreshSlotMap() async -> Bool {
        let candidates = self.state.withLock { state in
            var candidates: [(endpoint: RedisConfiguration.Endpoint, client: RedisClient?)] = []
            var seen = Set<RedisConfiguration.Endpoint>()
            for node in state.nodes.values.shuffled() where node.client.availability == .up {
                candidates.append((node.endpoint, node.client))
                seen.insert(node.endpoint)
            }
            let known = state.slotMap?.shards.flatMap { [$0.master] + $0.replicas }.map(\.endpoint) ?? []
            for endpoint in self.configuration.seeds + known where seen.insert(endpoint).inserted {
                candidates.append((endpoint, nil))
            }
            return candidates
        }
        var problems: [String] = []
        for candidate in candidates {
            guard !Task.isCancelled else { return false }
            do {
                let map = try await self.fetchSlotMap(from: candidate.endpoint, using: candidate.client)
                guard map.coveredSlotCount > 0 else {
                    problems.append("\(candidate.endpoint): no slot is assigned to any master yet")
                    continue
                }
                self.install(map, from: candidate.endpoint)
                return true
            } catch {
                problems.append("\(candidate.endpoint): \((error as? RedisClientError)?.message ?? "\(error)")")
            }
        }
        let failure = "no node gave the cluster's slot map (\(problems.prefix(3).joined(separator: "; ")))"
        let isNew = self.state.withLock { state in
            defer { state.lastRefreshFailure = failure }
            return state.lastRefreshFailure != failure
        }
        // Logged once, not at every retry while the cluster stays unreachable.
        self.logger.log(level: isNew ? .warning : .debug, "Redis Cluster slot map refresh failed", metadata: ["error": "\(failure)"])
        return false
    }

    /// `CLUSTER SHARDS` (Redis 7), or `CLUSTER SLOTS` where the server does not know it.
    private func fetchSlotMap(from endpoint: RedisConfiguration.Endpoint, using client: RedisClient?) async throws -> ClusterSlotMap {
        let host = endpoint.host
        var connection: RedisConnection?
        if client == nil {
            connection = try await RedisConnection.connect(
                configuration: self.configuration.node(at: endpoint),
                eventLoop: self.eventLoopGroup.next(),
                logger: self.logger
            )
        }
        defer { connection?.close() }
        func send(_ command: RedisCommand) async throws -> RESPValue {
            if let connection {
                return try await connection.send(command)
            }
            guard let client else {
                throw RedisClientError(.unavailable, message: "no connection to \(endpoint)")
            }
            return try await client.send(command)
        }

        do {
            return try ClusterSlotMap(shardsReply: try await send(RedisCommand("CLUSTER", ["SHARDS"])), askedHost: host)
        } catch let error as RedisClientError where error.code == .serverError {
            // Older than Redis 7 ("unknown subcommand"), or not a cluster node, which CLUSTER SLOTS reports as well.
            return try ClusterSlotMap(slotsReply: try await send(RedisCommand("CLUSTER", ["SLOTS"])), askedHost: host)
        }
    }

    /// Makes `map` the one commands are routed by, starts clients for new masters and stops those of nodes
    /// that are no longer masters.
    private func install(_ map: ClusterSlotMap, from endpoint: RedisConfiguration.Endpoint) {
        let masters = Set(map.masters.map(\.endpoint))
        let (changed, stopped) = self.state.withLock { state in
            let changed = state.slotMap?.shards != map.shards
            state.slotMap = map
            state.moved = [:]
            state.lastRefreshFailure = nil
            for master in masters {
                _ = self.node(at: master, in: &state)
            }
            var stopped: [Node] = []
            for (endpoint, node) in state.nodes where !masters.contains(endpoint) {
                state.nodes[endpoint] = nil
                stopped.append(node)
            }
            return (changed, stopped)
        }
        for node in stopped {
            node.stop.finish()
        }
        if changed {
            self.logger.info(
                "Redis Cluster slot map updated",
                metadata: [
                    "from": "\(endpoint)", "masters": "\(map.masters.map(\.description))", "covered-slots": "\(map.coveredSlotCount)",
                    "stopped-nodes": "\(stopped.map(\.endpoint.description))",
                ]
            )
        } else {
            self.logger.debug("Redis Cluster slot map unchanged", metadata: ["from": "\(endpoint)"])
        }
    }
}
