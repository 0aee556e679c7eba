import CoreMetrics
import CouponCore
import HTTPTypes
import Metrics
import NIOCore

/// What the sold-out fast path needs to answer an apply before Hummingbird sees it: the gate's
/// memory, the pre-built 422 bodies, the request ids and the metrics the normal path records.
///
/// It answers only a plain `POST /coupon/apply?userId=N` or `POST /campaigns/{id}/apply?userId=N`
/// (no body, no `Idempotency-Key`, no `Connection` header, a valid user) whose campaign the gate knows, from memory, to be
/// sold out for that user. Everything else, winners' 409s included, takes the normal path.
/// It is only built when no rule of the normal path could answer otherwise (`--auth query`, no
/// rate limit): see `buildApplication`.
struct SoldOutFastPath: Sendable {
    let gate: any CouponGate
    let bodies: SoldOutResponses
    let requestIDs: RequestIDMiddleware.Counter
    let date: HTTPDateHeader
    /// Nil when metrics are off.
    let metrics: ServerMetrics?
    /// `http_requests_total` and its duration for the two routes' 422, looked up once.
    private let defaultRouteInstruments: (CoreMetrics.Counter, CoreMetrics.Timer)?
    private let campaignRouteInstruments: (CoreMetrics.Counter, CoreMetrics.Timer)?

    init(
        gate: any CouponGate,
        bodies: SoldOutResponses,
        requestIDs: RequestIDMiddleware.Counter,
        date: HTTPDateHeader,
        metrics: ServerMetrics?,
        instruments: HTTPInstruments?
    ) {
        self.gate = gate
        self.bodies = bodies
        self.requestIDs = requestIDs
        self.date = date
        self.metrics = metrics
        self.defaultRouteInstruments = instruments?.instruments(for: .init(route: Self.defaultRoute, method: .post, status: 422))
        self.campaignRouteInstruments = instruments?.instruments(for: .init(route: Self.campaignRoute, method: .post, status: 422))
    }

    /// The route labels Hummingbird gives these routes (`context.endpointPath`).
    static let defaultRoute = "/coupon/apply"
    static let campaignRoute = "/campaigns/{id}/apply"

    /// The answer's parts, or nil when the request must take the normal path.
    func answer(for request: HTTPRequest) -> (head: HTTPResponse, body: ByteBuffer)? {
        guard request.method == .post, let target = request.path,
            request.headerFields[.contentLength].map({ $0 == "0" }) ?? true,
            request.headerFields[.transferEncoding] == nil,
            request.headerFields[IdempotencyKey.name] == nil,
            // Hummingbird closes after answering `Connection: close`; such a request takes its path.
            request.headerFields[.connection] == nil
        else { return nil }
        guard let (campaign, route) = Self.campaign(of: target),
            case .one(let value) = UserIDParameter.scan(target),
            let user = try? UserID(parsing: value)
        else { return nil }
        let start = ContinuousClock.now
        guard self.gate.isKnownSoldOut(user: user, campaign: campaign) else { return nil }

        let body = self.bodies.body(for: campaign)
        var head = HTTPResponse(status: .unprocessableContent)
        // The normal path's headers, in its order: ContentHeaders.problem, Hummingbird's length,
        // the request id (RequestIDMiddleware), Hummingbird's date.
        head.headerFields[.contentType] = Problem.contentType
        head.headerFields[.contentLength] = String(body.readableBytes)
        head.headerFields[RequestIDMiddleware.header] =
            RequestIDMiddleware.usable(request.headerFields[RequestIDMiddleware.header]) ?? self.requestIDs.generate()
        head.headerFields[.date] = self.date.now
        // The router's counts: the apply outcome, and the request by route and status with its duration.
        if let metrics {
            metrics.count(.soldOut)
            metrics.fastPathAnswers.increment()
        }
        if let (counter, timer) = route == Self.defaultRoute ? self.defaultRouteInstruments : self.campaignRouteInstruments {
            counter.increment()
            timer.record(duration: ContinuousClock.now - start)
        }
        return (head, body)
    }

    /// The campaign and route label of an apply target (`/coupon/apply`, `/campaigns/{id}/apply`), or nil.
    static func campaign(of target: String) -> (CampaignID, String)? {
        let path = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { target[..<$0] } ?? target[...]
        if path == Self.defaultRoute { return (.default, Self.defaultRoute) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, parts[1] == "campaigns", parts[3] == "apply",
            let campaign = try? CampaignID(validating: String(parts[2]))
        else { return nil }
        return (campaign, Self.campaignRoute)
    }
}
