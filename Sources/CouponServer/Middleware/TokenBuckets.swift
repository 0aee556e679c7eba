import Synchronization

/// Token buckets by key, in memory: `rate` tokens a second, at most `burst` saved up.
///
/// Memory is bounded: past `maxKeys` keys, buckets that have refilled (their key has been
/// idle long enough to be forgotten without changing any answer) are dropped; should every
/// bucket be in use, the map is cleared, which fails open rather than grow without limit.
final class TokenBuckets<Key: Hashable & Sendable>: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    private let maxKeys: Int
    private let buckets = Mutex<[Key: Bucket]>([:])

    init(rate: Double, burst: Double, maxKeys: Int = 100_000) {
        self.rate = rate
        self.burst = max(1, burst)
        self.maxKeys = maxKeys
    }

    /// Takes a token for `key`; nil when there was one, else how long until there is.
    func take(_ key: Key, now: ContinuousClock.Instant = .now) -> Duration? {
        self.buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: self.burst, updated: now)
            let elapsed = Self.seconds(now - bucket.updated)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return .seconds((1 - bucket.tokens) / self.rate)
            }
            bucket.tokens -= 1
            if buckets.count >= self.maxKeys, buckets[key] == nil {
                self.sweep(&buckets, now: now)
            }
            buckets[key] = bucket
            return nil
        }
    }

    var count: Int { self.buckets.withLock { $0.count } }

    private func sweep(_ buckets: inout [Key: Bucket], now: ContinuousClock.Instant) {
        let refill = self.burst / self.rate
        buckets = buckets.filter { Self.seconds(now - $0.value.updated) < refill }
        if buckets.count >= self.maxKeys {
            buckets.removeAll(keepingCapacity: true)
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
