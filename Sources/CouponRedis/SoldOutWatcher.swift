import CouponCore
import Logging
import RESP
import ServiceLifecycle

/// Keeps ``SoldOutCache`` honest: drops a campaign whose epoch changed in Redis
/// (reset, re-created) so no instance answers 422 from memory for long after.
///
/// Polls rather than subscribes: a lost Pub/Sub message cannot leave a stale
/// answer behind, and one pipelined HGET per cached campaign each `interval`
/// is nothing next to a drop's traffic. With the default interval a reset is
/// seen everywhere within a quarter of a second.
public struct SoldOutWatcher: Service {
    let gate: RedisGate
    var interval: Duration

    public init(gate: RedisGate, interval: Duration = .milliseconds(250)) {
        self.gate = gate
        self.interval = interval
    }

    public func run() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await self.check()
            await sleepUnlessShuttingDown(self.interval)
        }
    }

    func check() async {
        let cached = self.gate.soldOut.epochs
        guard !cached.isEmpty else { return }
        let campaigns = Array(cached.keys)
        do {
            let replies = try await self.gate.redis.pipeline(campaigns.map { RedisCommand("HGET", [.string(RedisKeys($0).meta), "epoch"]) })
            for (campaign, reply) in zip(campaigns, replies) where reply.int != cached[campaign] {
                self.gate.soldOut.evict(campaign, ifEpoch: cached[campaign])
                self.gate.logger.debug("Campaign changed in Redis; answering it from Redis again", metadata: ["campaign": "\(campaign)"])
            }
        } catch {
            // Redis unreachable: we cannot confirm the cache, so stop trusting it.
            for (campaign, epoch) in cached { self.gate.soldOut.evict(campaign, ifEpoch: epoch) }
        }
    }
}
