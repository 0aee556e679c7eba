import CouponAuth
import CouponCore
import Hummingbird
import Logging

/// `GET /campaigns/{id}` and `GET /users/{userId}/coupons`.
struct CampaignController<Context: RequestContext> {
    let gate: any CouponGate
    let store: any CouponStore
    let clock: any WallClock
    /// `--auth jwt`: a user reads only their own coupons.
    let tokens: UserTokenVerifier?

    func addRoutes(to router: Router<Context>) {
        router.get("/campaigns/:id") { _, context in
            let id = try CampaignID(validating: context.parameters.get("id") ?? "")
            let status = try await self.gate.status(of: id)
            var json = JSONWriter()
            json.write(status, at: self.clock.now())
            return Response(status: .ok, headers: ContentHeaders.json, body: .init(byteBuffer: json.finish()))
        }
        router.get("/users/:userId/coupons") { request, context in
            let user = try UserID(parsing: context.parameters.get("userId") ?? "")
            if let tokens {
                guard try await tokens.user(of: request) == user else {
                    throw Problem(.forbidden, kind: "forbidden", title: "Forbidden", detail: "A token may read its own user's coupons only.")
                }
            }
            let coupons: [Coupon]
            do {
                coupons = try await self.store.coupons(heldBy: user)
            } catch {
                context.logger.error("Reading coupons failed", metadata: ["error": "\(error)"])
                throw CouponError(.storeUnavailable, "The coupon store could not be read; retry shortly.")
            }
            var json = JSONWriter()
            json.field("userId", user.rawValue)
            json.field("coupons", array: coupons) { json, coupon in json.write(coupon) }
            return Response(status: .ok, headers: ContentHeaders.json, body: .init(byteBuffer: json.finish()))
        }
    }
}
