import CouponCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO

/// The embedded database of record: one SQLite file in WAL mode.
///
/// Two connections: every write goes through `writer` (one at a time, from
/// the gate's commit writer), reads go through `reader`, so a read never
/// waits behind a group commit. `synchronous=FULL` makes a commit durable
/// before it returns, which is what lets the embedded gate answer 200 only
/// after the row is on disk.
public final class SQLiteCouponStore: CouponStore {
    /// Rows per multi-row INSERT; keeps each statement well under SQLite's bind limit.
    static let rowsPerInsert = 200

    public let path: String
    private let writer: SQLiteConnection
    private let reader: SQLiteConnection
    private let logger: Logger

    private init(path: String, writer: SQLiteConnection, reader: SQLiteConnection, logger: Logger) {
        self.path = path
        self.writer = writer
        self.reader = reader
        self.logger = logger
    }

    /// Opens (creating if needed) `coupongate.sqlite` in `directory` and migrates it.
    ///
    /// - Throws: ``CouponStoreError`` naming the path and what failed.
    public static func open(directory: String, logger: Logger) async throws -> SQLiteCouponStore {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CouponStoreError("cannot create data directory '\(directory)': \(error.localizedDescription)")
        }
        let path = (directory as NSString).appendingPathComponent("coupongate.sqlite")
        return try await self.open(path: path, logger: logger)
    }

    /// Opens the database file at `path` (`:memory:` is refused: the two connections must share one file).
    public static func open(path: String, logger: Logger) async throws -> SQLiteCouponStore {
        let writer: SQLiteConnection
        do {
            writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw CouponStoreError("cannot open database '\(path)': \(error)")
        }
        do {
            // WAL lets the reader run beside the writer; FULL syncs the WAL on every commit.
            _ = try await writer.query("PRAGMA journal_mode = WAL")
            _ = try await writer.query("PRAGMA synchronous = FULL")
            _ = try await writer.query("PRAGMA foreign_keys = ON")
            try await Self.migrate(writer, logger: logger)
            let reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            _ = try await reader.query("PRAGMA query_only = ON")
            return SQLiteCouponStore(path: path, writer: writer, reader: reader, logger: logger)
        } catch let error as CouponStoreError {
            try? await writer.close()
            throw error
        } catch {
            try? await writer.close()
            throw CouponStoreError("cannot prepare database '\(path)': \(error)")
        }
    }

    public func close() async {
        try? await self.reader.close()
        try? await self.writer.close()
    }

    // MARK: Migrations

    static func migrate(_ db: SQLiteConnection, logger: Logger) async throws {
        _ = try await db.query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
        )
        let rows = try await db.query("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations")
        let current = rows.first?.column("version")?.integer ?? 0
        let newest = SQLiteMigrations.all.last?.version ?? 0
        guard current <= newest else {
            throw CouponStoreError("database schema version \(current) is newer than this coupongate knows (\(newest)); upgrade coupongate")
        }
        for migration in SQLiteMigrations.all where migration.version > current {
            _ = try await db.query("BEGIN IMMEDIATE")
            do {
                for statement in migration.statements {
                    _ = try await db.query(statement)
                }
                _ = try await db.query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [.integer(migration.version), .text(migration.name), .integer(Int(Timestamp.now.millisecondsSince1970))]
                )
                _ = try await db.query("COMMIT")
            } catch {
                _ = try? await db.query("ROLLBACK")
                throw CouponStoreError("migration \(migration.version) (\(migration.name)) failed: \(error)")
            }
            logger.info("Applied database migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
        }
    }

    // MARK: CouponStore

    public func write(_ writes: [StoreWrite]) async throws {
        guard !writes.isEmpty else { return }
        let db = self.writer
        _ = try await db.query("BEGIN IMMEDIATE")
        do {
            try await SQLiteTransaction(db: db).apply(writes, rowsPerInsert: Self.rowsPerInsert)
            _ = try await db.query("COMMIT")
        } catch {
            _ = try? await db.query("ROLLBACK")
            if let error = error as? CouponStoreError, error.code == .campaignExists { throw error }
            throw CouponStoreError("write of \(writes.count) changes to '\(self.path)' failed: \(error)")
        }
    }

    public func campaigns() async throws -> [Campaign] {
        let rows = try await self.reader.query(
            "SELECT id, name, coupon_limit, starts_at, ends_at, created_at, epoch FROM campaigns ORDER BY id"
        )
        return try rows.map { row in
            guard let id = row.column("id")?.string, let name = row.column("name")?.string,
                let limit = row.column("coupon_limit")?.integer, let createdAt = row.column("created_at")?.integer
            else {
                throw CouponStoreError("campaigns row has a NULL where a value is required: \(row)")
            }
            var campaign = try Campaign(
                id: CampaignID(validating: id),
                name: name,
                limit: Int64(limit),
                startsAt: row.column("starts_at")?.integer.map { Timestamp(millisecondsSince1970: Int64($0)) },
                endsAt: row.column("ends_at")?.integer.map { Timestamp(millisecondsSince1970: Int64($0)) },
                createdAt: Timestamp(millisecondsSince1970: Int64(createdAt))
            )
            campaign.epoch = Int64(row.column("epoch")?.integer ?? 0)
            return campaign
        }
    }

    public func coupons(of campaign: CampaignID) async throws -> [Coupon] {
        let rows = try await self.reader.query(
            "SELECT campaign_id, user_id, sequence, issued_at FROM coupons WHERE campaign_id = ? ORDER BY sequence",
            [.text(campaign.rawValue)]
        )
        return try rows.map(Self.coupon(from:))
    }

    public func coupons(heldBy user: UserID) async throws -> [Coupon] {
        let rows = try await self.reader.query(
            "SELECT campaign_id, user_id, sequence, issued_at FROM coupons WHERE user_id = ? ORDER BY issued_at, campaign_id",
            [.integer(Int(user.rawValue))]
        )
        return try rows.map(Self.coupon(from:))
    }

    public func ping() async throws {
        _ = try await self.reader.query("SELECT 1")
    }

    private static func coupon(from row: SQLiteRow) throws -> Coupon {
        guard let campaign = row.column("campaign_id")?.string, let user = row.column("user_id")?.integer,
            let sequence = row.column("sequence")?.integer, let issuedAt = row.column("issued_at")?.integer
        else {
            throw CouponStoreError("coupons row has a NULL where a value is required: \(row)")
        }
        return try Coupon(
            campaignID: CampaignID(validating: campaign),
            userID: UserID(Int64(user)),
            sequence: Int64(sequence),
            issuedAt: Timestamp(millisecondsSince1970: Int64(issuedAt))
        )
    }
}
