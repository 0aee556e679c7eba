import CouponCore
import HTTPTypes
import Hummingbird

/// `POST /coupon/apply?userId=` (the seed's route, campaign `default`) and
/// `POST /campaigns/{id}/apply?userId=`.
struct ApplyController<Context: RequestContext> {
    let gate: any CouponGate

    func addRoutes(to router: Router<Context>) {
        router.post("/coupon/apply") { request, _ in
            try await self.apply(request, campaign: .default)
        }
        router.post("/campaigns/:id/apply") { request, context in
            try await self.apply(request, campaign: CampaignID(validating: context.parameters.get("id") ?? ""))
        }
    }

    func apply(_ request: Request, campaign: CampaignID) async throws -> Response {
        let user = try Self.userID(of: request)
        switch try await self.gate.apply(user: user, campaign: campaign) {
        case .soldOut:
            return Problem.soldOutResponse(campaign)
        case .issued(let coupon):
            var json = JSONWriter(capacity: 128)
            json.write(coupon)
            return Response(status: .ok, headers: ContentHeaders.json, body: .init(byteBuffer: json.finish()))
        case .alreadyIssued(let coupon):
            return Problem.alreadyIssued(coupon).response
        case .notOpenYet(let startsAt):
            return Problem.notOpenYet(campaign, startsAt: startsAt).response
        case .closed(let endsAt):
            return Problem.closed(campaign, endsAt: endsAt).response
        }
    }

    /// The `userId` query parameter, exactly once.
    static func userID(of request: Request) throws -> UserID {
        let values = request.uri.queryParameters[values: "userId"]
        guard let value = values.first else {
            throw Problem(
                .badRequest,
                kind: "invalid-user-id",
                title: "Invalid userId",
                detail: "The userId query parameter is missing; call \(request.uri.path)?userId=<integer from 1 to \(Int64.max)>."
            )
        }
        guard values.count == 1 else {
            throw Problem(
                .badRequest,
                kind: "invalid-user-id",
                title: "Invalid userId",
                detail: "The userId query parameter is given \(values.count) times; give it once."
            )
        }
        return try UserID(parsing: value)
    }
}
