import CouponServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// Every admin request leaves one audit line, refused ones included.
@Suite struct AdminAuditTests {
    /// Keeps every log line's message and metadata.
    final class Recorded: Sendable {
        let lines = Mutex<[(message: String, metadata: [String: String])]>([])

        var audit: [[String: String]] {
            self.lines.withLock { $0.filter { $0.message == "admin audit" }.map(\.metadata) }
        }
    }

    struct RecordingHandler: LogHandler {
        let recorded: Recorded
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
            self.recorded.lines.withLock {
                $0.append((event.message.description, all.mapValues { "\($0)" }))
            }
        }
    }

    @Test func createResetAndRefusedAttemptsAreEachOneLine() async throws {
        let recorded = Recorded()
        let logger = Logger(label: "audit-test") { _ in RecordingHandler(recorded: recorded) }
        try await TestSupport.withDirectory { directory in
            var configuration = TestSupport.configuration(directory: directory)
            configuration.logLevel = .info
            let app = try await buildApplication(configuration, logger: logger)
            try await app.test(.router) { client in
                let created = try await client.createCampaign(#"{"id":"audited","name":"a","limit":5}"#)
                #expect(created.status == .created)
                #expect(created.headers[.location] == "/campaigns/audited")
                let reset = try await client.execute(
                    uri: "/admin/campaigns/audited/reset",
                    method: .post,
                    headers: TestSupport.adminHeaders
                )
                #expect(reset.status == .ok)
                let refused = try await client.execute(
                    uri: "/admin/campaigns/audited/reset",
                    method: .post,
                    headers: [.authorization: "Bearer wrong-token-0123456789", HTTPField.Name("X-Request-Id")!: "probe-1"]
                )
                #expect(refused.status == .unauthorized)
                _ = try await client.apply("1")
            }
        }
        let audit = recorded.audit
        #expect(audit.count == 3, "one line per admin request, none for applies: \(audit)")
        guard audit.count == 3 else { return }
        #expect(audit[0]["method"] == "POST" && audit[0]["path"] == "/admin/campaigns" && audit[0]["status"] == "201")
        #expect(audit[0]["location"] == "/campaigns/audited")
        #expect(audit[1]["path"] == "/admin/campaigns/audited/reset" && audit[1]["status"] == "200")
        #expect(audit[2]["status"] == "401" && audit[2]["request_id"] == "probe-1", "a refused attempt is audited with its request id")
        #expect(audit.allSatisfy { $0["peer"] != nil && $0["request_id"]?.isEmpty == false })
    }

    /// A refused admin call is logged with the status the client got, not 500: the route's
    /// `CouponError` (unknown campaign, duplicate id) is answered 404 or 409.
    @Test func failedAdminCallsAreLoggedWithTheStatusTheClientGot() async throws {
        let recorded = Recorded()
        let logger = Logger(label: "audit-test") { _ in RecordingHandler(recorded: recorded) }
        let answered = try await TestSupport.withDirectory { directory in
            var configuration = TestSupport.configuration(directory: directory)
            configuration.logLevel = .info
            let app = try await buildApplication(configuration, logger: logger)
            return try await app.test(.router) { client in
                let unknown = try await client.execute(uri: "/admin/campaigns/nope/reset", method: .post, headers: TestSupport.adminHeaders)
                #expect(unknown.headers[.contentType] == "application/problem+json")
                let created = try await client.createCampaign(#"{"id":"twice","name":"a","limit":5}"#)
                let duplicate = try await client.createCampaign(#"{"id":"twice","name":"a","limit":5}"#)
                return [unknown.status, created.status, duplicate.status]
            }
        }
        #expect(answered == [.notFound, .created, .conflict])
        #expect(recorded.audit.map { $0["status"] } == ["404", "201", "409"])
    }
}
