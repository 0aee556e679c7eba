import CouponCore
import CouponMySQL
import CouponStore
import Testing

@Suite struct MySQLURLTests {
    @Test func parsesATCPURL() throws {
        let url = try MySQLURL("mysql://app:s3cret@db.example:3307/coupons")
        #expect(url.endpoint == .tcp(host: "db.example", port: 3307))
        #expect(url.user == "app")
        #expect(url.password == "s3cret")
        #expect(url.database == "coupons")
        #expect(url.sslMode == .disabled)
        #expect(url.connectTimeout == nil)
    }

    @Test func defaultsThePortAndAcceptsMariadbAndIPv6() throws {
        #expect(try MySQLURL("mariadb://app@localhost/db").endpoint == .tcp(host: "localhost", port: 3306))
        #expect(try MySQLURL("mysql://app@[::1]:7000/db").endpoint == .tcp(host: "::1", port: 7000))
        #expect(try MySQLURL("mysql://app@localhost/db").password == nil)
    }

    @Test func percentDecodesUserPasswordAndDatabase() throws {
        let url = try MySQLURL("mysql://us%40er:p%3Ass%2Fw%40rd@host/my%20db")
        #expect(url.user == "us@er")
        #expect(url.password == "p:ss/w@rd")
        #expect(url.database == "my db")
    }

    @Test func parsesUnixSocketForms() throws {
        #expect(try MySQLURL("mysql://app@localhost/db?socket=/run/mysqld/mysqld.sock").endpoint == .unixSocket(path: "/run/mysqld/mysqld.sock"))
        #expect(try MySQLURL("mysql://app@/db?socket=/tmp/m.sock").endpoint == .unixSocket(path: "/tmp/m.sock"))
    }

    @Test func readsTLSAndConnectTimeout() throws {
        let url = try MySQLURL("mysql://app@h/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ca.pem&ssl-cert=/c.pem&ssl-key=/k.pem&connect-timeout=3")
        #expect(url.sslMode == .verifyIdentity)
        #expect(url.tlsFiles == .init(ca: "/etc/ca.pem", certificate: "/c.pem", key: "/k.pem"))
        #expect(url.connectTimeout == .seconds(3))
        #expect(try MySQLURL("mysql://app@h/db?ssl-mode=required").sslMode == .required)
    }

    @Test func describesItselfWithoutThePassword() throws {
        let url = try MySQLURL("mysql://app:s3cret@host:3307/db?ssl-mode=required&connect-timeout=4")
        #expect(url.description == "mysql://app:***@host:3307/db?ssl-mode=required&connect-timeout=4")
        #expect(try MySQLURL(url.description.replacing("***", with: "s3cret")) == url)
        let socket = try MySQLURL("mysql://app@/db?socket=/tmp/m.sock")
        #expect(try MySQLURL(socket.description) == socket)
    }

    @Test(arguments: [
        ("mysql//app@host/db", "is not a URL"),
        ("postgres://app:pw@host/db", "scheme 'postgres'"),
        ("mysql://:pw@host/db", "no user name"),
        ("mysql://app:pw@host", "names no database"),
        ("mysql://app:pw@host/a/b", "contains '/'"),
        ("mysql://app:pw@/db", "has no host"),
        ("mysql://app:pw@host:0/db", "port '0'"),
        ("mysql://app:pw@host:99999/db", "port '99999'"),
        ("mysql://app:pw@host/db?ssl-mode=always", "ssl-mode 'always'"),
        ("mysql://app:pw@host/db?connect-timeout=0", "connect-timeout '0'"),
        ("mysql://app:pw@host/db?sslmode=required", "unknown parameter 'sslmode'"),
        ("mysql://app:pw@host/db?socket=relative.sock", "absolute path"),
        ("mysql://app:pw@db.example/db?socket=/tmp/m.sock", "names host 'db.example' and a socket"),
        ("mysql://app:pw@localhost:3306/db?socket=/tmp/m.sock", "a port and a socket"),
        ("mysql://app:pw@localhost/db?socket=/tmp/m.sock&ssl-mode=required", "unix socket"),
        ("mysql://app:pw@host/db?ssl-ca=/ca.pem", "ssl-mode is disabled"),
        ("mysql://app:pw@host/db?ssl-mode=required&ssl-cert=/c.pem", "only one of ssl-cert and ssl-key"),
        ("mysql://app:pw@host/db?ssl-mode=required&ssl-mode=disabled", "parameter 'ssl-mode' twice"),
        ("mysql://app:p%zzw@host/db", "bad percent-escape in the password"),
        ("mysql://app:pw@host/db#frag", "fragment"),
    ])
    func badURLsAreClearErrors(text: String, problem: String) throws {
        let error = try #require(throws: CouponStoreError.self) { try MySQLURL(text) }
        #expect(error.message.contains(problem), "\(error.message)")
        #expect(error.message.contains("MySQL URL"), "\(error.message)")
        #expect(!error.message.contains("pw@"), "the password must be masked: \(error.message)")
    }
}
