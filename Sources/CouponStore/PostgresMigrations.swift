import CouponCore
import Logging
import PostgresNIO

/// The PostgreSQL schema, as numbered migrations, and the code that applies them.
///
/// Columns mirror ``SQLiteMigrations``: instants are `bigint` milliseconds since 1970, so both stores hold the
/// exact values the gate answered with.
enum PostgresMigrations {
    static let all: [SchemaMigration] = [
        SchemaMigration(
            version: 1,
            name: "campaigns and coupons",
            statements: [
                """
                CREATE TABLE campaigns (
                    id text PRIMARY KEY,
                    name text NOT NULL,
                    coupon_limit bigint NOT NULL CHECK (coupon_limit > 0),
                    starts_at bigint,
                    ends_at bigint,
                    created_at bigint NOT NULL
                )
                """,
                // (campaign, user) and (campaign, sequence) are the two uniqueness
                // invariants; the relay's idempotent inserts rely on them too.
                """
                CREATE TABLE coupons (
                    campaign_id text NOT NULL REFERENCES campaigns (id),
                    user_id bigint NOT NULL,
                    sequence bigint NOT NULL CHECK (sequence > 0),
                    issued_at bigint NOT NULL,
                    PRIMARY KEY (campaign_id, user_id),
                    UNIQUE (campaign_id, sequence)
                )
                """,
                "CREATE INDEX coupons_by_user ON coupons (user_id, issued_at)",
            ]
        ),
        SchemaMigration(
            version: 2,
            name: "campaign epochs",
            statements: [
                // Distributed mode's generation of a campaign, so a relay that lags a reset cannot
                // write the previous drop's coupons into the new one (StoreWrite.relayCoupon).
                "ALTER TABLE campaigns ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0"
            ]
        ),
    ]

    /// Key of the transaction-scoped advisory lock that serializes migrators ("cgmigrat" in ASCII).
    /// Advisory locks are per database, so instances on other databases never wait for each other.
    static let lockKey: Int64 = 0x6367_6D69_6772_6174

    /// Brings the database up to the newest migration in `migrations`, each in its own transaction.
    ///
    /// Every transaction first takes the advisory lock, so instances starting together apply each
    /// migration once: a waiter re-reads the version after the lock is granted and skips what the
    /// other applied. Even creating `schema_migrations` happens under the lock, because two racing
    /// `CREATE TABLE IF NOT EXISTS` can both try to insert the catalog row and one fails.
    ///
    /// - Returns: The versions this call applied (empty when the schema was current).
    /// - Throws: ``CouponStoreError`` when the database is newer than `migrations`, or a migration fails.
    static func migrate(
        _ connection: PostgresConnection,
        migrations: [SchemaMigration] = Self.all,
        logger: Logger
    ) async throws -> [Int] {
        let newest = migrations.last?.version ?? 0
        var applied: [Int] = []
        let current = try await PostgresTransaction.run(on: connection, logger: logger) {
            try await Self.lock(connection, logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version bigint PRIMARY KEY,
                    name text NOT NULL,
                    applied_at bigint NOT NULL
                )
                """,
                logger: logger
            )
            return try await Self.version(connection, logger: logger)
        }
        try Self.check(current, newest: newest)
        for migration in migrations where migration.version > current {
            let didApply = try await PostgresTransaction.run(on: connection, logger: logger) {
                try await Self.lock(connection, logger: logger)
                let now = try await Self.version(connection, logger: logger)
                try Self.check(now, newest: newest)
                guard now < migration.version else { return false }
                do {
                    for statement in migration.statements {
                        // Constant DDL from this file, no values: nothing to bind.
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    let appliedAt = Timestamp.now.millisecondsSince1970
                    try await connection.query(
                        """
                        INSERT INTO schema_migrations (version, name, applied_at)
                        VALUES (\(Int64(migration.version)), \(migration.name), \(appliedAt))
                        """,
                        logger: logger
                    )
                } catch {
                    throw CouponStoreError(
                        "migration \(migration.version) (\(migration.name)) failed: \(PostgresCouponStore.describe(error))"
                    )
                }
                return true
            }
            if didApply {
                applied.append(migration.version)
                logger.info("Applied database migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
        }
        return applied
    }

    private static func lock(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
    }

    private static func version(_ connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", logger: logger)
        var version: Int64 = 0
        // Read the sequence to its end: the connection goes back to the pool afterwards.
        for try await value in rows.decode(Int64.self) {
            version = value
        }
        return version
    }

    private static func check(_ current: Int64, newest: Int) throws(CouponStoreError) {
        guard current <= Int64(newest) else {
            throw CouponStoreError(
                "database schema version \(current) is newer than this coupongate knows (\(newest)); upgrade coupongate"
            )
        }
    }
}
