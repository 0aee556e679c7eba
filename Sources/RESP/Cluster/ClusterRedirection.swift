/// An error reply with which a cluster node refuses a command without running it, so it may be sent again.
enum ClusterRedirection: Sendable, Hashable {
    /// `MOVED slot host:port`: the slot now lives on that node for good; the slot map is stale.
    case moved(HashSlot, to: RedisConfiguration.Endpoint)
    /// `ASK slot host:port`: the slot is migrating and this key may already be on that node; ask it once,
    /// after `ASKING`, without changing the slot map.
    case ask(HashSlot, to: RedisConfiguration.Endpoint)
    /// A transient refusal, e.g. `TRYAGAIN` (a multi-key command during a resharding) or `CLUSTERDOWN`
    /// (no master serves the slot, as during a failover): send again after a pause.
    case retryLater(Refusal, message: String)

    enum Refusal: String, Sendable, Hashable {
        case tryAgain = "TRYAGAIN"
        case clusterDown = "CLUSTERDOWN"
        case loading = "LOADING"
        case masterDown = "MASTERDOWN"
    }

    /// Reads an error reply's text; nil when it is any other error (one the command's caller should see).
    /// - Parameter replyingHost: the host of the node that answered; a redirection with an empty host
    ///   (`MOVED 3999 :6380`, a node whose address is unknown) means that host.
    init?(errorMessage: String, replyingHost: String) {
        let words = errorMessage.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard let first = words.first else { return nil }
        switch first {
        case "MOVED", "ASK":
            guard words.count == 3, let number = UInt16(words[1]), let slot = HashSlot(rawValue: number),
                let colon = words[2].lastIndex(of: ":"), let port = Int(words[2][words[2].index(after: colon)...]),
                (1...65535).contains(port)
            else { return nil }
            let host = words[2][..<colon]
            let endpoint = RedisConfiguration.Endpoint.tcp(host: host.isEmpty ? replyingHost : String(host), port: port)
            self = first == "MOVED" ? .moved(slot, to: endpoint) : .ask(slot, to: endpoint)
        default:
            guard let refusal = Refusal(rawValue: String(first)) else { return nil }
            self = .retryLater(refusal, message: errorMessage)
        }
    }
}
