import Foundation

/// A throwaway MariaDB server on loopback, never the system's: mariadb-install-db into its own folder,
/// InnoDB flushing every commit, a database `coupongate` and a password user for it over TCP. The
/// administrator is this process's user over the unix socket; as root the server runs as `mysql`.
public struct LocalMariaDB: Sendable {
    public let port: Int
    public let password: String
    public let process: LocalProcess
    static let user = "coupongate"
    public var url: String { "mysql://\(Self.user):\(self.password)@127.0.0.1:\(self.port)/coupongate" }

    /// Creates a server in `directory` (which must not exist yet), starts it and returns once the
    /// database and its user exist.
    public static func start(in directory: URL) async throws -> LocalMariaDB {
        let package = "mariadb-server"
        let server = try LocalExecutable.find(["mariadbd", "mysqld"], package: package)
        let installDB = try LocalExecutable.find(["mariadb-install-db", "mysql_install_db"], package: package)
        let client = try LocalExecutable.find(["mariadb", "mysql"], package: "mariadb-client")
        guard let account = getpwuid(getuid()).map({ String(cString: $0.pointee.pw_name) }) else {
            throw LocalServerError("uid \(getuid()) has no user name; MariaDB's unix_socket login needs one")
        }
        let owner = getuid() == 0 ? "mysql" : nil
        let tmp = directory.appending(path: "tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        if let owner {
            for path in [directory.path, tmp.path] {
                try FileManager.default.setAttributes([.ownerAccountName: owner], ofItemAtPath: path)
            }
        }
        let data = directory.appending(path: "data").path
        try await LocalExecutable.run(
            installDB,
            [
                "--no-defaults", "--datadir=\(data)", "--tmpdir=\(tmp.path)", "--auth-root-authentication-method=socket",
                "--auth-root-socket-user=\(account)", "--skip-test-db", "--cross-bootstrap", "--skip-name-resolve",
            ],
            user: owner
        )
        let port = try LoopbackPort.free()
        let socket = directory.appending(path: "mysqld.sock").path
        let process = try LocalProcess.start(
            name: "mariadbd",
            executable: server,
            // --no-defaults must come first.
            arguments: ["--no-defaults"] + (owner.map { ["--user=\($0)"] } ?? []) + [
                "--datadir=\(data)", "--tmpdir=\(tmp.path)", "--socket=\(socket)", "--port=\(port)", "--bind-address=127.0.0.1",
                "--pid-file=\(directory.appending(path: "mariadbd.pid").path)", "--skip-name-resolve",
                "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci", "--innodb-flush-log-at-trx-commit=1",
                "--max-connections=300",
            ],
            logFile: directory.appending(path: "mariadbd.log")
        )
        try await process.waitUntil("ready on 127.0.0.1:\(port)") { LoopbackPort.accepts(port) }
        let password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        try await LocalExecutable.run(
            client,
            ["--no-defaults", "--protocol=socket", "--socket=\(socket)", "--user=\(account)", "--batch"],
            input: """
                CREATE DATABASE coupongate;
                CREATE USER '\(Self.user)'@'127.0.0.1' IDENTIFIED BY '\(password)';
                GRANT ALL ON coupongate.* TO '\(Self.user)'@'127.0.0.1';

                """
        )
        return LocalMariaDB(port: port, password: password, process: process)
    }
}
