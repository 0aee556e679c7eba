import CouponCore
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// One sample of the Prometheus text format.
struct MetricSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double

    /// Parses `name{a="x",b="y"} 12` lines; comments and blank lines are skipped.
    static func parse(_ text: String) -> [MetricSample] {
        text.split(separator: "\n").compactMap { line -> MetricSample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...])
            else { return nil }
            let head = line[..<space]
            guard let brace = head.firstIndex(of: "{") else {
                return MetricSample(name: String(head), labels: [:], value: value)
            }
            var labels: [String: String] = [:]
            for pair in head[head.index(after: brace)..<head.index(before: head.endIndex)].split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            return MetricSample(name: String(head[..<brace]), labels: labels, value: value)
        }
    }
}

extension Array where Element == MetricSample {
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        first { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }?.value
    }
}

@Suite struct MetricsTests {
    static func scrape(_ client: some TestClientProtocol) async throws -> (TestResponse, [MetricSample]) {
        let response = try await client.execute(uri: "/metrics", method: .get)
        return (response, MetricSample.parse(String(buffer: response.body)))
    }

    @Test func appliesAreCountedByOutcomeAndRouteWithoutUserLabels() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory, defaultLimit: 1) { client in
                #expect(try await client.apply("987654321").status == .ok)
                #expect(try await client.apply("987654321").status == .conflict)
                #expect(try await client.apply("555").status == .unprocessableContent)
                #expect(try await client.apply("556").status == .unprocessableContent)
                #expect(try await client.apply("abc").status == .badRequest)
                #expect(try await client.apply("7", campaign: "ghost").status == .notFound)
                #expect(try await client.apply("7", campaign: "bad id!").status == .badRequest)

                let (response, samples) = try await Self.scrape(client)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let outcomes = ["issued": 1.0, "duplicate": 1, "sold_out": 2, "rejected": 2, "unknown_campaign": 1, "not_open": 0]
                for (outcome, count) in outcomes {
                    #expect(samples.value("coupongate_applies_total", ["outcome": outcome]) == count, "\(outcome)")
                }
                let soldOut = samples.value(
                    "http_requests_total",
                    ["route": "/coupon/apply", "method": "POST", "status": "422"]
                )
                #expect(soldOut == 2)
                #expect(samples.value("http_request_duration_seconds_count", ["route": "/coupon/apply", "status": "422"]) == 2)
                #expect(samples.value("http_request_duration_seconds_bucket", ["route": "/coupon/apply", "status": "422", "le": "+Inf"]) == 2)
                #expect(samples.value("coupongate_gate_duration_seconds_count") == 4)  // the gate calls that answered
                // The one winner was committed to SQLite in one group commit.
                #expect(samples.value("coupongate_store_commit_duration_seconds_count") == 1)
                #expect(samples.value("coupongate_store_commit_batch_size_sum") == 1)
                #expect(samples.value("coupongate_campaign_limit", ["campaign": "default"]) == 1)
                #expect(samples.value("coupongate_campaign_issued", ["campaign": "default"]) == 1)
                #expect(samples.value("coupongate_campaign_remaining", ["campaign": "default"]) == 0)
                let uptime = try #require(samples.value("coupongate_uptime_seconds"))
                let (_, later) = try await Self.scrape(client)
                #expect(try #require(later.value("coupongate_uptime_seconds")) > uptime)
                // Bounded labels: no user id, no raw unmatched path.
                let text = String(buffer: response.body)
                #expect(!text.contains("987654321") && !text.contains("ghost") && !text.contains("userId"))
                let routes = Set(samples.compactMap { $0.labels["route"] })
                #expect(
                    routes.isSubset(of: ["/coupon/apply", "/campaigns/{id}/apply", "/campaigns/:id/apply", "/metrics", "unmatched"]),
                    "\(routes)"
                )
            }
        }
    }

    @Test func everyResponseCarriesARequestID() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let first = try await client.execute(uri: "/health/live", method: .get)
                let second = try await client.apply("abc")
                let ids = [first, second].compactMap { $0.headers[HTTPField.Name("X-Request-Id")!] }
                #expect(ids.count == 2 && ids[0] != ids[1] && ids.allSatisfy { !$0.isEmpty && $0.count <= 15 })
                let echoed = try await client.execute(uri: "/health/live", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "trace-42.a_b"])
                #expect(echoed.headers[HTTPField.Name("X-Request-Id")!] == "trace-42.a_b")
                for unusable in [String(repeating: "x", count: 129), "has space", "tab\there"] {
                    let replaced = try await client.execute(
                        uri: "/health/live",
                        method: .get,
                        headers: [HTTPField.Name("X-Request-Id")!: unusable]
                    )
                    let id = replaced.headers[HTTPField.Name("X-Request-Id")!]
                    #expect(id != nil && id != unusable, "\(unusable)")
                }
                let missing = try await client.execute(uri: "/no/such/route", method: .get)
                #expect(missing.headers[HTTPField.Name("X-Request-Id")!] != nil)
            }
        }
    }

    @Test func dashboardIsOnePageThatReadsMetrics() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let page = try await client.execute(uri: "/dashboard", method: .get)
                #expect(page.status == .ok)
                #expect(page.headers[.contentType] == "text/html; charset=utf-8")
                let html = String(buffer: page.body)
                #expect(html.contains(#"fetch("/metrics""#))
                // Nothing from elsewhere: no CDN, no external script or style.
                #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("src="))
            }
        }
    }

    @Test func metricsOffServesNeitherRoute() async throws {
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory, metrics: false) { client in
                #expect(try await client.apply("1").status == .ok)
                try await client.execute(uri: "/metrics", method: .get).expectProblem(.notFound, kind: "not-found")
                try await client.execute(uri: "/dashboard", method: .get).expectProblem(.notFound, kind: "not-found")
            }
        }
    }
}
