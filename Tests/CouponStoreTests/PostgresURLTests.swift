import CouponCore
import CouponStore
import Testing

@Suite struct PostgresURLTests {
    @Test func parsesATCPURL() throws {
        let url = try PostgresURL("postgres://app:s3cret@db.example:6543/coupons")
        #expect(url.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(url.user == "app")
        #expect(url.password == "s3cret")
        #expect(url.database == "coupons")
        #expect(url.sslMode == .prefer)
        #expect(url.connectTimeout == nil)
    }

    @Test func defaultsThePortAndAcceptsPostgresqlAndIPv6() throws {
        #expect(try PostgresURL("postgresql://app@localhost/db").endpoint == .tcp(host: "localhost", port: 5432))
        #expect(try PostgresURL("postgres://app@[::1]:7000/db").endpoint == .tcp(host: "::1", port: 7000))
        #expect(try PostgresURL("postgres://app@localhost/db").password == nil)
    }

    @Test func percentDecodesUserPasswordAndDatabase() throws {
        let url = try PostgresURL("postgres://us%40er:p%3Ass%2Fw%40rd@host/my%20db")
        #expect(url.user == "us@er")
        #expect(url.password == "p:ss/w@rd")
        #expect(url.database == "my db")
    }

    @Test func parsesUnixSocketForms() throws {
        let query = try PostgresURL("postgres://app@/db?host=/var/run/postgresql")
        #expect(query.endpoint == .unixSocket(directory: "/var/run/postgresql", port: 5432))
        #expect(query.socketPath == "/var/run/postgresql/.s.PGSQL.5432")
        #expect(query.sslMode == .disable)
        let withPort = try PostgresURL("postgres://app@:5433/db?host=/tmp")
        #expect(withPort.socketPath == "/tmp/.s.PGSQL.5433")
        let encoded = try PostgresURL("postgres://app@%2Fvar%2Frun%2Fpostgresql/db")
        #expect(encoded.endpoint == .unixSocket(directory: "/var/run/postgresql", port: 5432))
        #expect(try PostgresURL("postgres://app@/db?host=/tmp&port=6000").socketPath == "/tmp/.s.PGSQL.6000")
    }

    @Test func readsSSLModeAndConnectTimeout() throws {
        let url = try PostgresURL("postgres://app@h/db?sslmode=verify-full&connect_timeout=3")
        #expect(url.sslMode == .verifyFull)
        #expect(url.connectTimeout == .seconds(3))
        #expect(try PostgresURL("postgres://app@h/db?sslmode=disable").sslMode == .disable)
    }

    @Test func describesItselfWithoutThePassword() throws {
        let url = try PostgresURL("postgres://app:s3cret@host:6543/db?sslmode=require")
        #expect(url.description == "postgres://app:***@host:6543/db?sslmode=require")
        #expect(try PostgresURL(url.description.replacing("***", with: "s3cret")) == url)
        #expect(try PostgresURL("postgres://app@/db?host=/tmp").description == "postgres://app@/db?host=/tmp")
    }

    @Test(arguments: [
        ("mysql://app@host/db", "scheme 'mysql'"),
        ("host:5432/db", "is not a URL"),
        ("postgres://host/db", "no user name"),
        ("postgres://app:pw@host", "names no database"),
        ("postgres://app:pw@host/", "names no database"),
        ("postgres://app:pw@host/a/b", "contains '/'"),
        ("postgres://app:pw@/db", "has no host"),
        ("postgres://app:pw@host:0/db", "port '0'"),
        ("postgres://app:pw@host:99999/db", "port '99999'"),
        ("postgres://app:pw@host:http/db", "port 'http'"),
        ("postgres://app:pw@host/db?sslmode=always", "sslmode 'always'"),
        ("postgres://app:pw@host/db?connect_timeout=0", "connect_timeout '0'"),
        ("postgres://app:pw@host/db?conect_timeout=5", "unknown parameter 'conect_timeout'"),
        ("postgres://app:pw@host/db?host=/tmp", "names the host twice"),
        ("postgres://app:pw@host/db?sslmode=disable&sslmode=require", "parameter 'sslmode' twice"),
        ("postgres://app@/db?host=/tmp&sslmode=require", "unix socket"),
        ("postgres://app:p%zzw@host/db", "bad percent-escape in the password"),
        ("postgres://app:pw@[::1/db", "closing ']'"),
        ("postgres://app:pw@host/db#frag", "fragment"),
    ])
    func badURLsAreClearErrors(text: String, problem: String) throws {
        let error = try #require(throws: CouponStoreError.self) { try PostgresURL(text) }
        #expect(error.message.contains(problem), "\(error.message)")
        #expect(!error.message.contains("pw@"), "the password must be masked: \(error.message)")
    }
}
