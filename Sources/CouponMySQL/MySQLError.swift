/// An error reported by MariaDB Connector/C: the server's (codes below 2000) or the client library's own.
public struct MySQLError: Error, CustomStringConvertible, Sendable {
    /// The server's error number (1xxx) or the client's (`CR_*`, 2xxx).
    public var code: UInt32
    public var sqlState: String
    public var message: String

    public init(code: UInt32, sqlState: String, message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    /// An error found by our side of the client, with Connector/C's generic codes (`CR_UNKNOWN_ERROR`).
    static func client(_ message: String, code: UInt32 = 2000, sqlState: String = "HY000") -> MySQLError {
        MySQLError(code: code, sqlState: sqlState, message: message)
    }

    public var description: String { "\(self.message) (error \(self.code), SQLSTATE \(self.sqlState))" }

    /// Client errors mean the connection can no longer be trusted (lost, refused, out of sync): it is closed.
    var breaksConnection: Bool { self.code >= 2000 && self.code < 3000 }

    /// A deadlock (1213) or lock wait timeout (1205): InnoDB rolled the statement or transaction back,
    /// and running the transaction again is the documented remedy.
    var isTransient: Bool { self.code == 1213 || self.code == 1205 }
}
