import Hummingbird
import Synchronization

/// Bounds the requests one instance works on at once. Beyond the bound it answers 503 with
/// `Retry-After` at once, so an overload is a fast, honest answer and a bounded queue rather
/// than memory and latency growing without limit. Health probes and `/metrics` pass always:
/// a busy instance is alive, and its metrics are what an operator reads during an overload.
struct InFlightLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    final class Counter: Sendable {
        let inFlight = Atomic<Int>(0)
    }

    let limit: Int
    let counter = Counter()
    private let overloaded: Response

    init(limit: Int) {
        self.limit = limit
        // Built once: the overload answer must cost less than the work it turns away.
        self.overloaded =
            Problem(
                .serviceUnavailable,
                kind: "overloaded",
                title: "Overloaded",
                detail: "This instance is working on its maximum of \(limit) requests; retry shortly.",
                retryAfter: 1
            ).response
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix("/health/") || path == "/metrics" {
            return try await next(request, context)
        }
        let before = self.counter.inFlight.wrappingAdd(1, ordering: .relaxed).oldValue
        defer { self.counter.inFlight.wrappingSubtract(1, ordering: .relaxed) }
        guard before < self.limit else {
            return self.overloaded
        }
        return try await next(request, context)
    }
}
