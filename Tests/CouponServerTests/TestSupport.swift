import CouponCore
import CouponServer
import CouponStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

/// A clock the test moves by hand.
final class TestClock: WallClock {
    private let instant: Mutex<Timestamp>

    init(_ instant: Timestamp = Timestamp(millisecondsSince1970: 1_800_000_000_000)) {
        self.instant = Mutex(instant)
    }

    func now() -> Timestamp { self.instant.withLock { $0 } }

    func set(_ instant: Timestamp) { self.instant.withLock { $0 = instant } }
}

enum TestSupport {
    static let adminToken = "test-admin-token-0123456789"
    static var adminHeaders: HTTPFields {
        [.authorization: "Bearer \(adminToken)", .contentType: "application/json"]
    }

    static func configuration(directory: String, defaultLimit: Int64 = 100, metrics: Bool = true) -> ServerConfiguration {
        var configuration = ServerConfiguration(adminToken: AdminToken(adminToken))
        configuration.metricsEnabled = metrics
        configuration.dataDirectory = directory
        configuration.defaultLimit = defaultLimit
        configuration.port = 0
        configuration.logLevel = .warning
        return configuration
    }

    /// Runs `body` with a fresh directory that is removed afterwards.
    static func withDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cg-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(directory)
    }

    /// Runs the app built on `directory` and gives `body` a client that calls its router.
    static func withApp<T: Sendable>(
        directory: String,
        defaultLimit: Int64 = 100,
        metrics: Bool = true,
        clock: any WallClock = SystemWallClock(),
        _ body: @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let app = try await buildApplication(
            configuration(directory: directory, defaultLimit: defaultLimit, metrics: metrics),
            clock: clock,
            logger: logger
        )
        return try await app.test(.router) { client in try await body(client) }
    }

    /// The coupons the SQLite file in `directory` holds for `campaign`, read with the app stopped.
    static func storedCoupons(directory: String, campaign: CampaignID = .default) async throws -> [Coupon] {
        let store = try await SQLiteCouponStore.open(directory: directory, logger: Logger(label: "test"))
        let coupons = try await store.coupons(of: campaign)
        await store.close()
        return coupons
    }
}

extension TestResponse {
    /// The body as a JSON object.
    var json: [String: Any] {
        get throws {
            let object = try JSONSerialization.jsonObject(with: Data(self.body.readableBytesView))
            return try #require(object as? [String: Any], "body is not a JSON object: \(String(buffer: self.body))")
        }
    }

    var isProblem: Bool { self.headers[.contentType] == "application/problem+json" }

    /// Checks this is a problem with `status`, and that its `status` member agrees.
    func expectProblem(_ status: HTTPResponse.Status, kind: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(self.status == status, "body: \(String(buffer: self.body))", sourceLocation: sourceLocation)
        #expect(self.isProblem, "content-type: \(self.headers[.contentType] ?? "none")", sourceLocation: sourceLocation)
        let json = try self.json
        #expect(json["status"] as? Int == status.code, sourceLocation: sourceLocation)
        #expect(json["type"] as? String == "urn:coupongate:problem:\(kind)", sourceLocation: sourceLocation)
        #expect((json["detail"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
    }
}

extension TestClientProtocol {
    func apply(_ user: String, campaign: String? = nil, idempotencyKey: String? = nil) async throws -> TestResponse {
        let path = campaign.map { "/campaigns/\($0)/apply" } ?? "/coupon/apply"
        var headers = HTTPFields()
        if let idempotencyKey { headers[HTTPField.Name("Idempotency-Key")!] = idempotencyKey }
        return try await self.execute(uri: "\(path)?userId=\(user)", method: .post, headers: headers)
    }

    func createCampaign(_ json: String, headers: HTTPFields = TestSupport.adminHeaders) async throws -> TestResponse {
        try await self.execute(uri: "/admin/campaigns", method: .post, headers: headers, body: ByteBuffer(string: json))
    }
}
