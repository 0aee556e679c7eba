import CouponCore
import HTTPTypes
import Hummingbird

/// `POST /coupon/apply?userId=` (the seed's route, campaign `default`) and
/// `POST /campaigns/{id}/apply?userId=`.
struct ApplyController<Context: RequestContext> {
    let gate: any CouponGate
    let soldOut = SoldOutResponses()

    func addRoutes(to router: Router<Context>) {
        router.post("/coupon/apply") { request, _ in
            try await self.apply(request, campaign: .default)
        }
        router.post("/campaigns/:id/apply") { request, context in
            try await self.apply(request, campaign: CampaignID(validating: context.parameters.get("id") ?? ""))
        }
    }

    func apply(_ request: Request, campaign: CampaignID) async throws -> Response {
        let user = try UserIDParameter.parse(request)
        switch try await self.gate.apply(user: user, campaign: campaign) {
        case .soldOut:
            return self.soldOut.response(for: campaign)
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
}
