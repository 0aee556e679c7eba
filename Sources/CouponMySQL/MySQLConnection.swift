import CMariaDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking Connector/C connection and its prepared statements.
///
/// Every call blocks its thread, so the store runs them on its `NIOThreadPool`, never on an event loop.
/// A connection is used by one caller at a time (the pool leases it out), which is what makes the
/// unchecked `Sendable` sound; only ``interrupt()`` may be called from another thread.
final class MySQLConnection: @unchecked Sendable {
    /// How long blocking calls on a connection may take.
    struct Timeouts: Sendable {
        var connect: Duration
        var io: Duration
    }

    private let handle: UnsafeMutablePointer<MYSQL>
    private var statements: [String: UnsafeMutablePointer<MYSQL_STMT>] = [:]
    /// The socket, kept at connect so ``interrupt()`` never touches the handle another thread is using.
    private let socket: Int32
    /// Set once a client error (or an interrupt) left the connection unusable.
    private(set) var isBroken = false
    /// When the connection was last handed back; the pool pings one that idled long.
    var idleSince = ContinuousClock.now

    /// Statements kept prepared per connection; beyond this the cache starts over.
    static let statementCacheLimit = 32

    /// Connector/C must be initialised once, before any thread opens a connection.
    private static let libraryReady: Bool = mysql_server_init(0, nil, nil) == 0

    private init(handle: UnsafeMutablePointer<MYSQL>, socket: Int32) {
        self.handle = handle
        self.socket = socket
    }

    deinit {
        for statement in self.statements.values { mysql_stmt_close(statement) }
        mysql_close(self.handle)
    }

    // MARK: Connecting

    /// Connects (blocking) and sets the session up: utf8mb4, strict SQL mode, READ COMMITTED, autocommit on.
    static func open(_ url: MySQLURL, timeouts: Timeouts) throws(MySQLError) -> MySQLConnection {
        guard Self.libraryReady, let handle = mysql_init(nil) else {
            throw MySQLError.client("Connector/C could not allocate a connection", code: 2008)
        }
        func fail() -> MySQLError {
            let error = Self.error(of: handle)
            mysql_close(handle)
            return error
        }
        var connectTimeout = UInt32(clamping: max(1, timeouts.connect.components.seconds))
        var ioTimeout = UInt32(clamping: max(1, timeouts.io.components.seconds + (timeouts.io.components.attoseconds > 0 ? 1 : 0)))
        var off: my_bool = 0
        var on: my_bool = 1
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout)
        mysql_options(handle, MYSQL_OPT_READ_TIMEOUT, &ioTimeout)
        mysql_options(handle, MYSQL_OPT_WRITE_TIMEOUT, &ioTimeout)
        // A silent reconnect would lose the open transaction's state without telling us.
        mysql_options(handle, MYSQL_OPT_RECONNECT, &off)
        var noInfile: UInt32 = 0
        mysql_options(handle, MYSQL_OPT_LOCAL_INFILE, &noInfile)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        // Strict mode refuses what would otherwise be truncated with a warning; READ COMMITTED is
        // PostgreSQL's default and avoids InnoDB's gap locks between relays inserting into one campaign.
        // Connector/C runs every init command given, in order, on each new connection.
        mysql_options(handle, MYSQL_INIT_COMMAND, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'")
        mysql_options(handle, MYSQL_INIT_COMMAND, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        switch url.sslMode {
        case .disabled:
            break
        case .required, .verifyIdentity:
            mysql_options(handle, MYSQL_OPT_SSL_ENFORCE, &on)
            var verify: my_bool = url.sslMode == .verifyIdentity ? 1 : 0
            mysql_options(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify)
            if let ca = url.tlsFiles.ca { mysql_options(handle, MYSQL_OPT_SSL_CA, ca) }
            if let certificate = url.tlsFiles.certificate { mysql_options(handle, MYSQL_OPT_SSL_CERT, certificate) }
            if let key = url.tlsFiles.key { mysql_options(handle, MYSQL_OPT_SSL_KEY, key) }
        }

        let connected: UnsafeMutablePointer<MYSQL>?
        switch url.endpoint {
        case .tcp(let host, let port):
            var protocolTCP = UInt32(MYSQL_PROTOCOL_TCP.rawValue)
            mysql_options(handle, MYSQL_OPT_PROTOCOL, &protocolTCP)
            connected = mysql_real_connect(handle, host, url.user, url.password, url.database, UInt32(port), nil, 0)
        case .unixSocket(let path):
            var protocolSocket = UInt32(MYSQL_PROTOCOL_SOCKET.rawValue)
            mysql_options(handle, MYSQL_OPT_PROTOCOL, &protocolSocket)
            connected = mysql_real_connect(handle, "localhost", url.user, url.password, url.database, 0, path, 0)
        }
        guard connected != nil else { throw fail() }
        // Connector/C 3.3 quietly goes on in plain text when the server offers no TLS, whatever
        // MYSQL_OPT_SSL_ENFORCE says; checking the cipher is what makes ssl-mode=required a guarantee.
        if url.sslMode != .disabled, mysql_get_ssl_cipher(handle) == nil {
            mysql_close(handle)
            throw MySQLError.client(
                "ssl-mode=\(url.sslMode.rawValue) asks for TLS, but the server did not encrypt the connection (it has no TLS set up)",
                code: 2026
            )
        }
        return MySQLConnection(handle: handle, socket: Int32(mysql_get_socket(handle)))
    }

    /// Cuts the connection from another thread: the blocking call in progress, if any, fails at once.
    ///
    /// Connector/C has no way to cancel a call; shutting the socket down is what makes a deadline real.
    func interrupt() {
        _ = shutdown(self.socket, Int32(SHUT_RDWR))
    }

    /// Checks the connection still answers.
    func ping() throws(MySQLError) {
        guard mysql_ping(self.handle) == 0 else { throw self.failure() }
    }

    // MARK: Statements

    /// Runs SQL text that carries no values (transaction control, constant DDL).
    func execute(_ sql: String) throws(MySQLError) {
        let status = sql.withCString { mysql_real_query(self.handle, $0, UInt(strlen($0))) }
        guard status == 0 else { throw self.failure() }
        // A statement that returns rows here would leave the connection out of sync; none of ours does.
        if let result = mysql_store_result(self.handle) { mysql_free_result(result) }
    }

    /// Runs a prepared statement with `parameters` bound.
    ///
    /// - Returns: The affected row count.
    @discardableResult
    func run(_ sql: String, _ parameters: [MySQLValue]) throws(MySQLError) -> UInt64 {
        let statement = try self.prepared(sql)
        try self.bindAndExecute(statement, parameters)
        let affected = mysql_stmt_affected_rows(statement)
        mysql_stmt_free_result(statement)
        return affected
    }

    /// Runs a prepared query with `parameters` bound and fetches every row as `columns`.
    func query(_ sql: String, _ parameters: [MySQLValue], columns: [MySQLColumn]) throws(MySQLError) -> [[MySQLValue]] {
        let statement = try self.prepared(sql)
        try self.bindAndExecute(statement, parameters)
        defer { mysql_stmt_free_result(statement) }
        guard mysql_stmt_field_count(statement) == UInt32(columns.count) else {
            throw MySQLError.client("query returned \(mysql_stmt_field_count(statement)) columns, expected \(columns.count): \(sql)")
        }
        let results = ResultBuffers(columns)
        defer { results.deallocate() }
        guard mysql_stmt_bind_result(statement, results.binds) == 0 else { throw self.failure(statement) }
        var rows: [[MySQLValue]] = []
        while true {
            let status = mysql_stmt_fetch(statement)
            if status == MYSQL_NO_DATA { break }
            guard status == 0 || status == MYSQL_DATA_TRUNCATED else { throw self.failure(statement) }
            var row: [MySQLValue] = []
            row.reserveCapacity(columns.count)
            for index in columns.indices {
                row.append(try results.value(at: index, of: statement))
            }
            rows.append(row)
        }
        return rows
    }

    private func prepared(_ sql: String) throws(MySQLError) -> UnsafeMutablePointer<MYSQL_STMT> {
        if let statement = self.statements[sql] { return statement }
        if self.statements.count >= Self.statementCacheLimit {
            for statement in self.statements.values { mysql_stmt_close(statement) }
            self.statements.removeAll()
        }
        guard let statement = mysql_stmt_init(self.handle) else { throw self.failure() }
        let status = sql.withCString { mysql_stmt_prepare(statement, $0, UInt(strlen($0))) }
        guard status == 0 else {
            let error = self.failure(statement)
            mysql_stmt_close(statement)
            throw error
        }
        self.statements[sql] = statement
        return statement
    }

    private func bindAndExecute(_ statement: UnsafeMutablePointer<MYSQL_STMT>, _ parameters: [MySQLValue]) throws(MySQLError) {
        guard mysql_stmt_param_count(statement) == UInt(parameters.count) else {
            throw MySQLError.client("statement has \(mysql_stmt_param_count(statement)) parameters, \(parameters.count) given")
        }
        let bound = ParameterBuffers(parameters)
        defer { bound.deallocate() }
        if !parameters.isEmpty {
            guard mysql_stmt_bind_param(statement, bound.binds) == 0 else { throw self.failure(statement) }
        }
        guard mysql_stmt_execute(statement) == 0 else {
            let error = self.failure(statement)
            mysql_stmt_reset(statement)
            throw error
        }
    }

    // MARK: Errors

    private func failure() -> MySQLError {
        let error = Self.error(of: self.handle)
        if error.breaksConnection { self.isBroken = true }
        return error
    }

    private func failure(_ statement: UnsafeMutablePointer<MYSQL_STMT>) -> MySQLError {
        let error = Self.error(of: statement)
        if error.breaksConnection { self.isBroken = true }
        return error
    }

    /// Marks the connection unusable (after an interrupt, say), so the pool closes it.
    func markBroken() {
        self.isBroken = true
    }

    private static func error(of handle: UnsafeMutablePointer<MYSQL>) -> MySQLError {
        MySQLError(
            code: mysql_errno(handle),
            sqlState: String(cString: mysql_sqlstate(handle)),
            message: String(cString: mysql_error(handle))
        )
    }

    static func error(of statement: UnsafeMutablePointer<MYSQL_STMT>) -> MySQLError {
        MySQLError(
            code: mysql_stmt_errno(statement),
            sqlState: String(cString: mysql_stmt_sqlstate(statement)),
            message: String(cString: mysql_stmt_error(statement))
        )
    }
}
