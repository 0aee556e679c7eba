import CoreMetrics
import CouponAuth
import CouponCore
import HTTPTypes
import Hummingbird
import Metrics

/// `POST /coupon/apply?userId=` (the seed's route, campaign `default`) and
/// `POST /campaigns/{id}/apply?userId=`.
struct ApplyController {
    typealias Context = CouponRequestContext

    let gate: any CouponGate
    /// Nil when metrics are off (`--metrics off`).
    let metrics: ServerMetrics?
    /// In-memory limits (embedded default); nil when none are set or the gate enforces them.
    let rateLimiter: RateLimiter?
    /// The gate limits per client address (distributed mode), so it is given the address.
    var gateLimitsClients = false
    /// `--auth jwt`: users are verified tokens' `sub`; nil: the `userId` parameter.
    let tokens: UserTokenVerifier?
    let soldOut = SoldOutResponses()

    func addRoutes(to router: Router<Context>) {
        router.post("/coupon/apply") { request, context in
            try await self.apply(request, context: context, campaign: .default)
        }
        router.post("/campaigns/:id/apply") { request, context in
            let campaign: CampaignID
            do {
                campaign = try CampaignID(validating: context.parameters.get("id") ?? "")
            } catch {
                self.metrics?.countApply(.rejected)
                throw error
            }
            return try await self.apply(request, context: context, campaign: campaign)
        }
    }

    func apply(_ request: Request, context: Context, campaign: CampaignID) async throws -> Response {
        let user: UserID
        do {
            user = try await self.user(of: request)
        } catch {
            self.metrics?.countApply(.rejected)
            throw error
        }
        let idempotencyKey: String?
        do {
            idempotencyKey = try IdempotencyKey.parse(request)
        } catch {
            self.metrics?.countApply(.rejected)
            throw error
        }
        if let rateLimiter, let problem = rateLimiter.check(user: user, client: context.remoteAddress) {
            self.metrics?.countApply(.rateLimited)
            throw problem
        }
        let start = ContinuousClock.now
        let outcome: ApplyOutcome
        do {
            let client = self.gateLimitsClients ? context.remoteAddress?.ipAddress : nil
            outcome = try await self.gate.apply(user: user, campaign: campaign, client: client, idempotencyKey: idempotencyKey)
        } catch let error as CouponError {
            self.metrics?.countApply(error.code == .unknownCampaign ? .unknownCampaign : .unavailable)
            throw error
        }
        if let metrics {
            metrics.gateDuration.record(duration: ContinuousClock.now - start)
            metrics.count(outcome)
        }
        switch outcome {
        case .soldOut:
            return self.soldOut.response(for: campaign)
        case .issued(let coupon), .replayed(let coupon):
            var json = JSONWriter(capacity: 128)
            json.write(coupon)
            return Response(status: .ok, headers: ContentHeaders.json, body: .init(byteBuffer: json.finish()))
        case .alreadyIssued(let coupon):
            return Problem.alreadyIssued(coupon).response
        case .notOpenYet(let startsAt):
            return Problem.notOpenYet(campaign, startsAt: startsAt).response
        case .closed(let endsAt):
            return Problem.closed(campaign, endsAt: endsAt).response
        case .rateLimited(let seconds):
            return Problem.rateLimited("Too many applies for user \(user)", retryAfter: seconds).response
        case .idempotencyKeyReused:
            return Problem(
                .unprocessableContent,
                kind: "idempotency-key-reused",
                title: "Idempotency key reused",
                detail: "This Idempotency-Key won a coupon of campaign '\(campaign)' for another user; use a new key for every apply."
            ).response
        }
    }

    private func user(of request: Request) async throws -> UserID {
        guard let tokens else {
            return try UserIDParameter.parse(request)
        }
        if request.uri.queryParameters["userId"] != nil {
            throw Problem.badRequest(
                "userId is not accepted with --auth jwt: the user is the bearer token's sub.",
                kind: "invalid-user-id"
            )
        }
        return try await tokens.user(of: request)
    }
}

extension UserTokenVerifier {
    /// The user of `request`'s bearer token; a missing or refused token is a 401 problem
    /// with RFC 6750's challenge.
    func user(of request: Request) async throws -> UserID {
        do {
            return try await self.user(authorization: request.headers[.authorization])
        } catch {
            var problem = Problem(.unauthorized, kind: "invalid-token", title: "Unauthorized", detail: "\(error).")
            problem.headers[.wwwAuthenticate] = #"Bearer error="invalid_token""#
            throw problem
        }
    }
}
