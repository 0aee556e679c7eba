import CouponCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `GET /metrics` (Prometheus text format) and `GET /dashboard` (the live page that reads it).
struct MetricsController<Context: RequestContext> {
    /// Campaign gauges beyond this many would make the scrape (and Prometheus) heavy.
    static var campaignGaugeLimit: Int { 1000 }

    let metrics: ServerMetrics
    let gate: any CouponGate
    let store: any CouponStore
    let scrape: (@Sendable (ServerMetrics, [CampaignID]) async -> Void)?
    let logger: Logger

    func addRoutes(to router: Router<Context>) {
        router.get("/metrics") { _, _ in
            let campaigns = await self.refreshCampaignGauges()
            await self.scrape?(self.metrics, campaigns)
            self.metrics.recordUptime()
            return Self.exposition(self.metrics)
        }
        router.get("/dashboard") { _, _ in Self.dashboard() }
    }

    /// The live page, which polls `/metrics` beside it.
    static func dashboard() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
    }

    /// The Prometheus text answer.
    static func exposition(_ metrics: ServerMetrics) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }

    /// Issued and remaining per campaign, read when scraped rather than on every apply.
    /// A store that does not answer leaves the last values and is logged, not a failed scrape.
    /// - Returns: the campaigns it read (none when the store did not answer).
    func refreshCampaignGauges() async -> [CampaignID] {
        do {
            let campaigns = try await store.campaigns().prefix(Self.campaignGaugeLimit).map(\.id)
            var statuses: [CampaignStatus] = []
            for campaign in campaigns {
                statuses.append(try await gate.status(of: campaign))
            }
            metrics.recordCampaigns(statuses)
            return campaigns
        } catch {
            logger.warning("Could not read campaigns for /metrics", metadata: ["error": "\(error)"])
            return []
        }
    }
}
