enum SQLiteMigrations {
    static let all: [SchemaMigration] = [
        SchemaMigration(
            version: 1,
            name: "campaigns and coupons",
            statements: [
                """
                CREATE TABLE campaigns (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    coupon_limit INTEGER NOT NULL CHECK (coupon_limit > 0),
                    starts_at INTEGER,
                    ends_at INTEGER,
                    created_at INTEGER NOT NULL
                ) STRICT
                """,
                // (campaign, user) and (campaign, sequence) are the two uniqueness
                // invariants; the relay's idempotent inserts rely on them too.
                """
                CREATE TABLE coupons (
                    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
                    user_id INTEGER NOT NULL,
                    sequence INTEGER NOT NULL CHECK (sequence > 0),
                    issued_at INTEGER NOT NULL,
                    PRIMARY KEY (campaign_id, user_id),
                    UNIQUE (campaign_id, sequence)
                ) STRICT
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
                "ALTER TABLE campaigns ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0"
            ]
        ),
    ]
}
