import PostgresNIO

/// A statement inside a store operation failed; `step` says which, for the error message.
struct PostgresStepError: Error {
    var step: String
    var underlying: any Error
}

extension PostgresCouponStore {
    /// A one-line account of a postgres-nio error.
    ///
    /// `PSQLError`'s own description is deliberately generic ("to prevent accidental leakage"), which
    /// makes a useless store error; this takes the server's message, SQLSTATE and detail, or the
    /// client-side code and its cause (connection refused, closed, …).
    static func describe(_ error: any Error) -> String {
        switch error {
        case let failed as PostgresStepError:
            return "while \(failed.step): \(Self.describe(failed.underlying))"
        case let psql as PSQLError:
            if let info = psql.serverInfo, let message = info[.message] {
                var text = message
                if let state = info[.sqlState] { text += " (SQLSTATE \(state))" }
                if let detail = info[.detail] { text += "; \(detail)" }
                return text
            }
            var text = "\(psql.code)"
            if let underlying = psql.underlying { text += ": \(underlying)" }
            return text
        case let decoding as PostgresDecodingError:
            return "cannot decode column '\(decoding.columnName)' as \(decoding.targetType): \(decoding.code)"
        default:
            return "\(error)"
        }
    }
}
