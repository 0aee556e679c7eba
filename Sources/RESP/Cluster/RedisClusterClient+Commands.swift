import Synchronization

extension RedisClusterClient {
    /// What became of one command: its reply (an error reply included), or why it was given up without running.
    typealias Outcome = Result<RESPValue, RedisClientError>

    /// Where a command goes next.
    enum Target: Hashable {
        /// The master that owns this slot (by the slot map and any MOVED since); any master when nil.
        case owner(HashSlot?)
        /// This node, after `ASKING` when `asking`.
        case node(RedisConfiguration.Endpoint, asking: Bool)

        var isAsking: Bool {
            if case .node(_, asking: true) = self {
                return true
            }
            return false
        }
    }

    /// One command of a call, on its way through redirections.
    private struct Entry {
        /// Its position in the caller's list.
        let index: Int
        let command: RedisCommand
        /// Where it goes when not redirected: the owner of its slot, or the one node a broadcast sends it to.
        let home: Target
        var target: Target
        var machine: ClusterCommandStateMachine
    }

    /// Commands for one node, sent as one pipeline.
    private struct Batch {
        let node: Node
        var entries: [Entry] = []

        /// The commands to write, with `ASKING` before each that was redirected by ASK.
        var commands: [RedisCommand] {
            self.entries.flatMap { $0.target.isAsking ? [RedisCommand("ASKING"), $0.command] : [$0.command] }
        }
    }

    // MARK: Commands

    /// Sends one command to the master that owns its key's hash slot and returns its reply.
    ///
    /// A command with no key goes to any master; one that changes what every node must share goes to every master
    /// (`SCRIPT LOAD`/`FLUSH`, `FUNCTION LOAD`/`DELETE`/`FLUSH`/`RESTORE`, `FLUSHALL`, `FLUSHDB`), and the first
    /// master's reply is returned once all succeeded (`SCRIPT LOAD` answers the same SHA1 everywhere).
    ///
    /// - Throws: `RedisClientError`: `.serverError` with the server's text for an error reply; `.unavailable` when
    ///   the command did not run: the client is not running, or it gave up after `maximumRedirections`
    ///   redirections or retries, or at the deadline (the message names the slot and what happened);
    ///   `.timeout` and `.connectionClosed` when the command was sent and its outcome is unknown (never retried);
    ///   `.cancelled` when the calling task was cancelled.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        if command.clusterRouting == .allMasters {
            return try await self.broadcast(command)
        }
        return try Self.reply(try await self.execute([command]).first)
    }

    /// Sends several commands and returns their replies in the order given.
    ///
    /// Commands are grouped by the node that owns their slot and each group is sent as one pipeline, the groups
    /// concurrently. Why split rather than refuse a pipeline that spans nodes: a pipeline is not atomic, so
    /// splitting loses nothing, and callers batch reads across campaigns (each under its own hash tag, so often
    /// on different nodes). Commands for one node keep their order. A command without a key goes with the
    /// pipeline's first keyed command, so `MULTI`…`EXEC` around keys of one slot stay together (commands that
    /// `send` sends to every master, such as `SCRIPT LOAD`, also go to that one node here).
    ///
    /// Commands a node refuses (MOVED, ASK, TRYAGAIN, CLUSTERDOWN) are sent again as `send` does, and one given up
    /// on gets an `.error` reply saying why. Other error replies are returned as `.error` values; a timeout or a
    /// lost connection throws, as with `send`, and so does `.unavailable` when the client is not running.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else {
            return []
        }
        return try await self.execute(commands).map { outcome in
            switch outcome {
            case .success(let reply): reply
            case .failure(let error): .error(error.message)
            }
        }
    }

    /// The reply of `send`: an error reply thrown as `.serverError`, a command given up on as its error.
    private static func reply(_ outcome: Outcome?) throws -> RESPValue {
        switch outcome {
        case .success(.error(let message)): throw RedisClientError(.serverError, message: message)
        case .success(let reply): return reply
        case .failure(let error): throw error
        case nil: throw RedisClientError(.protocolError, message: "no outcome for the command")
        }
    }

    /// Sends `command` to every master; each must succeed. Returns the first master's reply.
    private func broadcast(_ command: RedisCommand) async throws -> RESPValue {
        let masters = try self.state.withLock { state in
            guard case .running = state.lifecycle else { throw Self.notRunning(state.lifecycle) }
            return state.slotMap?.masters.map(\.endpoint) ?? []
        }
        guard !masters.isEmpty else {
            // No map yet: it goes where a keyless command would, waiting (bounded) for the map.
            return try Self.reply(try await self.execute([command]).first)
        }
        let outcomes = try await withThrowingTaskGroup(of: (Int, Outcome?).self) { group in
            for (index, master) in masters.enumerated() {
                group.addTask { (index, try await self.execute([command], pinnedTo: master).first) }
            }
            var outcomes = [Outcome?](repeating: nil, count: masters.count)
            for try await (index, outcome) in group {
                outcomes[index] = outcome
            }
            return outcomes
        }
        var first: RESPValue?
        for outcome in outcomes {
            let reply = try Self.reply(outcome)
            first = first ?? reply
        }
        guard let first else {
            throw RedisClientError(.protocolError, message: "no reply from any master")
        }
        return first
    }

    // MARK: Routing and redirections

    /// Sends `commands`, following redirections, and returns one outcome per command, in order.
    /// - Parameter endpoint: send every command to this node (a broadcast), not to the owner of its slot.
    /// - Throws: what leaves the outcome unknown (timeout, connection lost after the write, cancellation), or
    ///   `.unavailable` when the client is not running.
    private func execute(_ commands: [RedisCommand], pinnedTo endpoint: RedisConfiguration.Endpoint? = nil) async throws -> [Outcome] {
        let start = ContinuousClock.now
        let limits = self.configuration.limits
        let slots = commands.map(\.hashSlot)
        let pipelineSlot = slots.lazy.compactMap { $0 }.first
        var pending = commands.enumerated().map { index, command in
            let slot = slots[index]
            let home = endpoint.map { Target.node($0, asking: false) } ?? .owner(slot ?? pipelineSlot)
            return Entry(
                index: index,
                command: command,
                home: home,
                target: home,
                machine: ClusterCommandStateMachine(command: command.name, slot: slot, limits: limits, start: start)
            )
        }
        var outcomes = [Outcome?](repeating: nil, count: commands.count)
        var delay = Duration.zero

        while !pending.isEmpty {
            if delay > .zero {
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    throw RedisClientError(.cancelled, message: "the task was cancelled while its command waited to be sent again")
                }
                delay = .zero
            }

            // Group the commands by node; those with no node to go to wait for a retry.
            var batches: [Batch] = []
            var batchIndex: [RedisConfiguration.Endpoint: Int] = [:]
            var next: [Entry] = []
            var now = ContinuousClock.now
            for var entry in pending {
                guard entry.machine.maySend(now: now) else {
                    outcomes[entry.index] = .failure(entry.machine.deadlineError())
                    continue
                }
                switch try self.route(entry.target) {
                case .node(let node):
                    if let index = batchIndex[node.endpoint] {
                        batches[index].entries.append(entry)
                    } else {
                        batchIndex[node.endpoint] = batches.count
                        batches.append(Batch(node: node, entries: [entry]))
                    }
                case .noRoute(let problem):
                    if self.carryOut(entry.machine.notSent(problem, now: now), on: &entry, delay: &delay, outcomes: &outcomes) {
                        next.append(entry)
                    }
                }
            }

            let results = await self.sendEach(batches, deadline: start + limits.commandTimeout, minimumTime: limits.commandTimeout / 10)
            now = ContinuousClock.now
            for (batch, result) in zip(batches, results) {
                let replies: [RESPValue]
                switch result {
                case .success(let values):
                    replies = values
                case .failure(let error) where error.code == .unavailable:
                    // Not written (no connection up to the node): safe to send again.
                    for var entry in batch.entries {
                        if self.carryOut(entry.machine.notSent(error.message, now: now), on: &entry, delay: &delay, outcomes: &outcomes) {
                            next.append(entry)
                        }
                    }
                    continue
                case .failure(let error):
                    // Sent, and its fate is unknown: the caller decides, never a blind retry.
                    throw error
                }
                var position = 0
                for var entry in batch.entries {
                    if entry.target.isAsking {
                        position += 1  // the reply to ASKING
                    }
                    guard position < replies.count else {
                        throw RedisClientError(.protocolError, message: "\(replies.count) replies to a pipeline of \(batch.commands.count) commands")
                    }
                    let reply = replies[position]
                    position += 1
                    if case .error(let message) = reply,
                        let redirection = ClusterRedirection(errorMessage: message, replyingHost: batch.node.endpoint.host)
                    {
                        if self.carryOut(entry.machine.refused(redirection, now: now), on: &entry, delay: &delay, outcomes: &outcomes) {
                            next.append(entry)
                        }
                    } else {
                        outcomes[entry.index] = .success(reply)
                    }
                }
            }
            pending = next
        }
        return outcomes.map { $0 ?? .failure(RedisClientError(.protocolError, message: "no outcome for the command")) }
    }

    /// Does what the command's state machine decided; returns whether the command is to be sent again.
    private func carryOut(
        _ action: ClusterCommandStateMachine.Action,
        on entry: inout Entry,
        delay: inout Duration,
        outcomes: inout [Outcome?]
    ) -> Bool {
        switch action {
        case .moved(let slot, let endpoint):
            // Later commands for the slot go straight there, even before the refreshed map arrives.
            self.state.withLock { $0.moved[slot] = endpoint }
            self.requestRefresh()
            entry.target = .node(endpoint, asking: false)
            return true
        case .ask(let endpoint):
            entry.target = .node(endpoint, asking: true)
            return true
        case .retry(let after, let refreshingMap):
            if refreshingMap {
                self.requestRefresh()
            }
            delay = max(delay, after)
            entry.target = entry.home
            return true
        case .fail(let error):
            outcomes[entry.index] = .failure(error)
            return false
        }
    }

    private enum Route {
        case node(Node)
        /// No node to send to now, and why.
        case noRoute(String)
    }

    /// The node `target` names, by the current slot map; throws `.unavailable` when the client is not running,
    /// or when no slot map is known because no node answered.
    private func route(_ target: Target) throws -> Route {
        try self.state.withLock { state in
            guard case .running = state.lifecycle else { throw Self.notRunning(state.lifecycle) }
            switch target {
            case .node(let endpoint, _):
                guard let node = self.node(at: endpoint, in: &state) else { throw Self.notRunning(state.lifecycle) }
                return .node(node)

            case .owner(let slot):
                guard let map = state.slotMap else {
                    if let failure = state.lastRefreshFailure {
                        // No node answers: fail at once, as `RedisClient` does while Redis is unreachable.
                        throw RedisClientError(.unavailable, message: "the cluster's slot map is not known yet: \(failure)")
                    }
                    return .noRoute("the cluster's slot map is not known yet (fetching it)")
                }
                if let slot {
                    guard let endpoint = state.moved[slot] ?? map.master(for: slot)?.endpoint else {
                        return .noRoute("no master owns slot \(slot) in the cluster's slot map")
                    }
                    guard let node = self.node(at: endpoint, in: &state) else { throw Self.notRunning(state.lifecycle) }
                    return .node(node)
                }
                // No key: the next master with a connection up, round robin.
                let masters = map.masters
                for offset in 0..<masters.count {
                    let index = (state.nextMaster + offset) % masters.count
                    if let node = state.nodes[masters[index].endpoint], node.client.availability == .up {
                        state.nextMaster = (index + 1) % masters.count
                        return .node(node)
                    }
                }
                return .noRoute("no connection to any master is up")
            }
        }
    }

    private static func notRunning(_ lifecycle: State.Lifecycle) -> RedisClientError {
        switch lifecycle {
        case .idle: RedisClientError(.unavailable, message: "the Redis Cluster client is not running (run() has not been called)")
        case .running, .stopped: RedisClientError(.unavailable, message: "the Redis Cluster client has shut down")
        }
    }

    // MARK: Sending

    /// Sends each batch as one pipeline on its node, concurrently, and returns their results in order.
    private func sendEach(
        _ batches: [Batch],
        deadline: ContinuousClock.Instant,
        minimumTime: Duration
    ) async -> [Result<[RESPValue], RedisClientError>] {
        let work = batches.map { (node: $0.node, commands: $0.commands) }
        if work.count == 1 {
            return [await self.sendPipeline(work[0].commands, to: work[0].node, deadline: deadline, minimumTime: minimumTime)]
        }
        return await withTaskGroup(of: (Int, Result<[RESPValue], RedisClientError>).self) { group in
            for (index, item) in work.enumerated() {
                group.addTask { (index, await self.sendPipeline(item.commands, to: item.node, deadline: deadline, minimumTime: minimumTime)) }
            }
            var results = [Result<[RESPValue], RedisClientError>](repeating: .success([]), count: work.count)
            for await (index, result) in group {
                results[index] = result
            }
            return results
        }
    }

    private func sendPipeline(
        _ commands: [RedisCommand],
        to node: Node,
        deadline: ContinuousClock.Instant,
        minimumTime: Duration
    ) async -> Result<[RESPValue], RedisClientError> {
        // A client made a moment ago (a new master, a MOVED to a node not yet known) is given time to connect.
        var pause = Duration.milliseconds(1)
        while node.client.availability == .connecting, ContinuousClock.now + pause + minimumTime < deadline {
            guard (try? await Task.sleep(for: pause)) != nil else { break }
            pause = min(pause * 2, .milliseconds(20))
        }
        do {
            let timeout = max(deadline - ContinuousClock.now, .milliseconds(1))
            return .success(try await node.client.pipeline(commands, timeout: timeout))
        } catch let error as RedisClientError {
            return .failure(error)
        } catch {
            return .failure(RedisClientError(.connectionClosed, message: "\(error)"))
        }
    }
}

extension RedisConfiguration.Endpoint {
    /// The host, for a redirection that names none (a unix socket is on this machine).
    var host: String {
        switch self {
        case .tcp(let host, _): host
        case .unix: "127.0.0.1"
        }
    }
}
