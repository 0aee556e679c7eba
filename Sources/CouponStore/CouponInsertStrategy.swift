import CouponCore
import PostgresNIO

/// Two ways to insert a batch of coupons in one statement, both with bind parameters only.
///
/// The store uses `unnest`. Measured on the 2-core dev machine (PostgreSQL 15 on loopback, fsync on,
/// debug build), 1,000 coupons in one transaction, median of 30 alternating rounds: `values` 44–53 ms,
/// `unnest` 27–34 ms. Building the statement costs the client about the same either way (~15 ms in a
/// debug build), so the difference is the server's: parsing and planning 4,000 parameters against
/// four arrays. Both are kept so the measurement can be repeated:
/// `COUPONGATE_MEASURE_INSERT=1 swift test --filter InsertStrategyMeasurement` (with `POSTGRES_URL` set).
enum CouponInsertStrategy: CaseIterable, Sendable {
    /// `INSERT … VALUES ($1, $2, $3, $4), ($5, …) …`: four binds per row; the statement text grows with the batch.
    case values
    /// `INSERT … SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])`: four array binds and
    /// one fixed statement text, whatever the batch size.
    case unnest

    /// The statement inserting `coupons`, skipping rows that conflict with either unique key.
    func query(for coupons: [Coupon]) -> PostgresQuery {
        switch self {
        case .values:
            // Built with PostgresQuery's own interpolation so every value becomes a bind ($n), never SQL text.
            var sql = PostgresQuery.StringInterpolation(literalCapacity: 80 + coupons.count * 24, interpolationCount: coupons.count * 4)
            sql.appendLiteral("INSERT INTO coupons (campaign_id, user_id, sequence, issued_at) VALUES ")
            for (index, coupon) in coupons.enumerated() {
                sql.appendLiteral(index == 0 ? "(" : ", (")
                sql.appendInterpolation(coupon.campaignID.rawValue)
                sql.appendLiteral(", ")
                sql.appendInterpolation(coupon.userID.rawValue)
                sql.appendLiteral(", ")
                sql.appendInterpolation(coupon.sequence)
                sql.appendLiteral(", ")
                sql.appendInterpolation(coupon.issuedAt.millisecondsSince1970)
                sql.appendLiteral(")")
            }
            sql.appendLiteral(" ON CONFLICT DO NOTHING")
            return PostgresQuery(stringInterpolation: sql)
        case .unnest:
            let campaigns = coupons.map(\.campaignID.rawValue)
            let users = coupons.map(\.userID.rawValue)
            let sequences = coupons.map(\.sequence)
            let issuedAt = coupons.map(\.issuedAt.millisecondsSince1970)
            return """
                INSERT INTO coupons (campaign_id, user_id, sequence, issued_at)
                SELECT * FROM unnest(\(campaigns)::text[], \(users)::bigint[], \(sequences)::bigint[], \(issuedAt)::bigint[])
                ON CONFLICT DO NOTHING
                """
        }
    }
}
