import CouponCore
import CouponStore
import Logging

/// The MySQL/MariaDB schema, as numbered migrations, and the code that applies them.
///
/// The same tables, keys and checks as PostgreSQL's (``PostgresCouponStore``): instants are `BIGINT`
/// milliseconds since 1970; campaign ids are ASCII with a binary collation, so ids compare and sort by
/// byte, as in the other stores. MySQL commits DDL implicitly, so a migration cannot be rolled back:
/// its statements are written to be safe to run again (`IF NOT EXISTS`), and the version row is
/// written only once they all succeeded.
enum MySQLMigrations {
    static let all: [SchemaMigration] = [
        SchemaMigration(
            version: 1,
            name: "campaigns and coupons, with epochs",
            statements: [
                """
                CREATE TABLE IF NOT EXISTS campaigns (
                    id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
                    name TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
                    coupon_limit BIGINT NOT NULL CHECK (coupon_limit > 0),
                    starts_at BIGINT NULL,
                    ends_at BIGINT NULL,
                    created_at BIGINT NOT NULL,
                    epoch BIGINT NOT NULL DEFAULT 0
                ) ENGINE = InnoDB
                """,
                // (campaign, user) and (campaign, sequence) are the two uniqueness invariants;
                // the relay's idempotent inserts rely on them too.
                """
                CREATE TABLE IF NOT EXISTS coupons (
                    campaign_id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
                    user_id BIGINT NOT NULL,
                    sequence BIGINT NOT NULL CHECK (sequence > 0),
                    issued_at BIGINT NOT NULL,
                    PRIMARY KEY (campaign_id, user_id),
                    UNIQUE KEY coupons_by_sequence (campaign_id, sequence),
                    KEY coupons_by_user (user_id, issued_at),
                    CONSTRAINT coupons_campaign FOREIGN KEY (campaign_id) REFERENCES campaigns (id)
                ) ENGINE = InnoDB
                """,
            ]
        )
    ]

    /// How long a migrator waits for another instance's migration to finish.
    static let lockTimeoutSeconds: Int64 = 60

    /// Brings the database up to the newest migration in `migrations`.
    ///
    /// Instances starting together serialise on a named lock (`GET_LOCK`, held by this session until
    /// released), so each migration runs once; named locks are per server, so the name includes the
    /// database.
    ///
    /// - Returns: The versions this call applied (empty when the schema was current).
    /// - Throws: ``CouponStoreError`` when the database is newer than `migrations`, or a migration fails.
    static func migrate(
        _ session: MySQLSession,
        database: String,
        migrations: [SchemaMigration] = Self.all,
        logger: Logger
    ) async throws -> [Int] {
        let newest = migrations.last?.version ?? 0
        let lockName = String("coupongate-migrate:\(database)".prefix(64))
        let granted = try await session.query(
            "taking the migration lock",
            "SELECT GET_LOCK(?, ?)",
            [.text(lockName), .int(Self.lockTimeoutSeconds)],
            columns: [.int]
        )
        guard granted.first?.first?.int == 1 else {
            throw CouponStoreError("another instance held the migration lock for more than \(Self.lockTimeoutSeconds) s")
        }
        do {
            let applied = try await Self.apply(migrations, newest: newest, session: session, logger: logger)
            try await session.query("releasing the migration lock", "SELECT RELEASE_LOCK(?)", [.text(lockName)], columns: [.int])
            return applied
        } catch {
            // Closing the session releases the lock too; this frees it while the connection lives on.
            _ = try? await session.query("releasing the migration lock", "SELECT RELEASE_LOCK(?)", [.text(lockName)], columns: [.int])
            throw error
        }
    }

    private static func apply(_ migrations: [SchemaMigration], newest: Int, session: MySQLSession, logger: Logger) async throws -> [Int] {
        try await session.execute(
            "creating schema_migrations",
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT NOT NULL PRIMARY KEY,
                name TEXT NOT NULL,
                applied_at BIGINT NOT NULL
            ) ENGINE = InnoDB
            """
        )
        let rows = try await session.query(
            "reading the schema version",
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            columns: [.int]
        )
        let current = rows.first?.first?.int ?? 0
        guard current <= Int64(newest) else {
            throw CouponStoreError("database schema version \(current) is newer than this coupongate knows (\(newest)); upgrade coupongate")
        }
        var applied: [Int] = []
        for migration in migrations where migration.version > current {
            do {
                for statement in migration.statements {
                    // Constant DDL from this file, no values: nothing to bind.
                    try await session.execute("migration \(migration.version)", statement)
                }
                try await session.run(
                    "recording migration \(migration.version)",
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.int(Int64(migration.version)), .text(migration.name), .int(Timestamp.now.millisecondsSince1970)]
                )
            } catch {
                throw CouponStoreError("migration \(migration.version) (\(migration.name)) failed: \(MySQLCouponStore.describe(error))")
            }
            applied.append(migration.version)
            logger.info("Applied database migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
        return applied
    }
}
