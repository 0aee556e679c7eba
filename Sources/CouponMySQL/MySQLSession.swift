import NIOPosix

/// A leased connection and the thread pool its blocking calls run on: the async face of
/// ``MySQLConnection`` for one store call. Each method names its step, for error messages.
struct MySQLSession: Sendable {
    let connection: MySQLConnection
    let threadPool: NIOThreadPool

    /// SQL text without values (transaction control, constant DDL).
    func execute(_ step: String, _ sql: String) async throws {
        let connection = self.connection
        try await Self.step(step) { try await self.threadPool.runIfActive { try connection.execute(sql) } }
    }

    /// A prepared statement with bound values; returns the affected row count.
    @discardableResult
    func run(_ step: String, _ sql: String, _ parameters: [MySQLValue]) async throws -> UInt64 {
        let connection = self.connection
        return try await Self.step(step) { try await self.threadPool.runIfActive { try connection.run(sql, parameters) } }
    }

    /// A prepared query with bound values; returns its rows.
    @discardableResult
    func query(_ step: String, _ sql: String, _ parameters: [MySQLValue], columns: [MySQLColumn]) async throws -> [[MySQLValue]] {
        let connection = self.connection
        return try await Self.step(step) {
            try await self.threadPool.runIfActive { try connection.query(sql, parameters, columns: columns) }
        }
    }

    /// `START TRANSACTION` … `COMMIT`, rolled back when `body` throws. A deadlock or lock wait timeout
    /// (InnoDB rolled back) runs the whole transaction again, up to `attempts` times.
    func transaction<T>(attempts: Int = 3, _ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            try await self.execute("starting a transaction", "START TRANSACTION")
            do {
                let value = try await body()
                try await self.execute("committing", "COMMIT")
                return value
            } catch {
                // After a client error the connection is closed anyway, and the server rolls back.
                if !self.connection.isBroken {
                    _ = try? await self.execute("rolling back", "ROLLBACK")
                }
                guard attempt < attempts, !self.connection.isBroken, let failed = error as? MySQLStepError,
                    let mysql = failed.underlying as? MySQLError, mysql.isTransient
                else { throw error }
                attempt += 1
            }
        }
    }

    private static func step<T>(_ name: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as MySQLStepError {
            throw error
        } catch {
            throw MySQLStepError(step: name, underlying: error)
        }
    }
}

/// A statement of a store call failed; `step` says which, for the error message.
struct MySQLStepError: Error {
    var step: String
    var underlying: any Error
}
