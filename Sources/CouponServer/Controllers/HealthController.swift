import CouponCore
import Hummingbird
import NIOCore

/// `GET /health/live` (the process answers) and `GET /health/ready` (it can admit users).
struct HealthController<Context: RequestContext> {
    let gate: any CouponGate

    func addRoutes(to router: Router<Context>) {
        router.get("/health/live") { _, _ in
            Response(status: .ok, headers: ContentHeaders.json, body: .init(byteBuffer: ByteBuffer(staticString: #"{"status":"ok"}"#)))
        }
        router.get("/health/ready") { _, _ in
            guard await self.gate.isReady() else {
                throw Problem(
                    .serviceUnavailable,
                    kind: "not-ready",
                    title: "Not ready",
                    detail: "The coupon store does not answer.",
                    retryAfter: 1
                )
            }
            return Response(
                status: .ok,
                headers: ContentHeaders.json,
                body: .init(byteBuffer: ByteBuffer(staticString: #"{"status":"ready"}"#))
            )
        }
    }
}
