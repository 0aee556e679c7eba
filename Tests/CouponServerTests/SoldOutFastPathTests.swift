import CouponCore
import CouponServer
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import CouponServer

/// Sold-out applies answered in the channel pipeline: the same answers as the router's, in
/// request order, counted in the same metrics.
@Suite struct SoldOutFastPathTests {
    typealias Machine = SoldOutFastPathHandler.StateMachine

    @Test func aRequestIsConsideredOnlyWhenNothingEarlierIsOwed() {
        var machine = Machine()
        #expect(machine.headReceived() == .consider)
        machine.answerChosen()
        #expect(machine.bodyReceived() == .drop)
        #expect(machine.endReceived() == .answer)
        #expect(machine.owed == 0)

        // A request for Hummingbird: until its answer ends, nothing is answered here.
        #expect(machine.headReceived() == .consider)
        machine.forwardChosen()
        #expect(machine.bodyReceived() == .forward)
        #expect(machine.endReceived() == .forward)
        #expect(machine.headReceived() == .forward, "an answer is owed: a fast one would overtake it")
        #expect(machine.endReceived() == .forward)
        #expect(machine.owed == 2)
        machine.responseEndWritten()
        #expect(machine.headReceived() == .forward)
        #expect(machine.endReceived() == .forward)
        machine.responseEndWritten()
        machine.responseEndWritten()
        #expect(machine.owed == 0)
        #expect(machine.headReceived() == .consider)
    }

    @Test func onlyTheApplyRoutesAreRecognised() throws {
        #expect(SoldOutFastPath.campaign(of: "/coupon/apply?userId=1")?.0 == .default)
        #expect(SoldOutFastPath.campaign(of: "/campaigns/drop-1/apply?userId=1")?.0 == (try CampaignID(validating: "drop-1")))
        #expect(SoldOutFastPath.campaign(of: "/campaigns/drop-1/apply")?.1 == "/campaigns/{id}/apply")
        for other in ["/coupon/apply/x", "/campaigns//apply", "/campaigns/a/b/apply", "/campaigns/a/apply/", "/coupon", "/campaigns/%20/apply"] {
            #expect(SoldOutFastPath.campaign(of: other) == nil, "\(other)")
        }
    }

    @Test func theDateIsAnIMFFixdate() {
        #expect(HTTPDateHeader.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDateHeader.format(1_796_255_999) == "Wed, 02 Dec 2026 23:59:59 GMT")
    }

    /// Runs a live server (the real channel pipeline) with the fast path on or off.
    static func withLiveApp<T: Sendable>(
        fastPath: Bool,
        limit: Int64 = 1,
        _ body: @Sendable (any TestClientProtocol, Int) async throws -> T
    ) async throws -> T {
        try await TestSupport.withDirectory { directory in
            var configuration = TestSupport.configuration(directory: directory, defaultLimit: limit)
            configuration.soldOutFastPath = fastPath
            let app = try await buildApplication(configuration, logger: Logger(label: "test"))
            return try await app.test(.live) { client in
                let port = try #require(client.port)
                return try await body(client, port)
            }
        }
    }

    /// Each is followed on its connection by a request that closes it (the fast path leaves
    /// `Connection: close` to the router), so the exchange ends.
    static let requests = [
        "POST /coupon/apply?userId=2 HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /coupon/apply?userId=3 HTTP/1.1\r\nHost: x\r\nX-Request-Id: mine-1\r\n\r\n",
        "POST /campaigns/default/apply?userId=4 HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /coupon/apply?userId=1 HTTP/1.1\r\nHost: x\r\n\r\n",  // the winner: 409
        "POST /coupon/apply?userId=abc HTTP/1.1\r\nHost: x\r\n\r\n",  // 400
        "POST /coupon/apply?userId=5&userId=6 HTTP/1.1\r\nHost: x\r\n\r\n",  // 400
        "POST /coupon/apply?userId=7 HTTP/1.1\r\nHost: x\r\nIdempotency-Key: k-1\r\n\r\n",
        "POST /campaigns/nope/apply?userId=8 HTTP/1.1\r\nHost: x\r\n\r\n",  // 404
        "POST /coupon/apply?userId=9 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        "POST /coupon/apply?userId=10 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ]
    static let closing = "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    /// Byte for byte but `Date` and `X-Request-Id`'s value, on and off; a client's request id is echoed.
    @Test func theAnswersAreTheRoutersAnswers() async throws {
        func answers(fastPath: Bool) async throws -> [String] {
            try await Self.withLiveApp(fastPath: fastPath) { client, port in
                #expect(try await client.apply("1").status == .ok)
                var answers: [String] = []
                for request in Self.requests {
                    answers.append(try await RawHTTP.exchange(port: port, request + Self.closing))
                }
                return answers
            }
        }
        let fast = try await answers(fastPath: true)
        let router = try await answers(fastPath: false)
        // The last one closes the connection itself: the closing request is not answered.
        #expect(fast.map(RawHTTP.statuses) == [422, 422, 422, 409, 400, 400, 422, 404, 422].map { [$0, 200] } + [[422]])
        for (index, (one, other)) in zip(fast, router).enumerated() {
            // The two runs' winners were issued at different times.
            let issuedAt = /"issuedAt":"[^"]*"/
            #expect(
                RawHTTP.normalized(one).replacing(issuedAt, with: "-") == RawHTTP.normalized(other).replacing(issuedAt, with: "-"),
                "request \(index): \(Self.requests[index])"
            )
        }
        #expect(fast[1].contains("X-Request-Id: mine-1\r\n"))
        #expect(fast[0].contains("\r\nDate: ") && fast[0].contains(" GMT\r\n"))
    }

    /// Pipelined requests are answered in order: a fast answer never overtakes one the router owes.
    @Test func pipelinedAnswersKeepTheRequestsOrder() async throws {
        try await Self.withLiveApp(fastPath: true) { client, port in
            #expect(try await client.apply("1").status == .ok)
            let apply = { (user: Int) in "POST /coupon/apply?userId=\(user) HTTP/1.1\r\nHost: x\r\n\r\n" }
            let health = "GET /campaigns/default HTTP/1.1\r\nHost: x\r\n\r\n"
            let close = "GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            let first = try await RawHTTP.exchange(port: port, health + apply(2) + apply(3) + close)
            #expect(RawHTTP.statuses(first) == [200, 422, 422, 200])
            let second = try await RawHTTP.exchange(port: port, apply(4) + health + apply(5) + apply(1) + apply(6) + close)
            #expect(RawHTTP.statuses(second) == [422, 200, 422, 409, 422, 200])
        }
    }

    /// The fast path's answers are counted where the router's are (and, apart, as its own).
    @Test(arguments: [true, false])
    func answersAreCountedInTheSameMetrics(fastPath: Bool) async throws {
        try await Self.withLiveApp(fastPath: fastPath) { client, port in
            #expect(try await client.apply("1").status == .ok)
            for user in 2...6 {
                let answer = try await RawHTTP.exchange(port: port, "POST /coupon/apply?userId=\(user) HTTP/1.1\r\nHost: x\r\n\r\n" + Self.closing)
                #expect(RawHTTP.statuses(answer) == [422, 200])
            }
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"coupongate_applies_total{outcome="sold_out"} 5"#), "\(metrics)")
            #expect(metrics.contains(#"http_requests_total{route="/coupon/apply",method="POST",status="422"} 5"#))
            #expect(metrics.contains("coupongate_sold_out_fast_path_total \(fastPath ? 5 : 0)"), "answered in the pipeline only when on")
        }
    }
}
