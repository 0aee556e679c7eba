import CouponTestSupport
import Testing

/// The parent of every suite here: tests against a real Redis Cluster (redis-server nodes joined
/// by `RedisClusterProcess`) and PostgreSQL, run by scripts/test.sh (`COUPONGATE_INTEGRATION=1`).
@Suite(.integration) struct ClusterIntegrationTests {}
