import CouponTestSupport
import Testing

/// The parent of every suite here: tests against a real redis-server, PostgreSQL and MariaDB,
/// run by scripts/test.sh (`COUPONGATE_INTEGRATION=1`; see ``IntegrationSuite``).
@Suite(.integration) struct IntegrationTests {}
