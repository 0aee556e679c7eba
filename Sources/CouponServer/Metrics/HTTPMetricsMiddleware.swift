import CoreMetrics
import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// Counts requests by route pattern, method and status, and times them by route
/// (`http_requests_total`, `http_request_duration_seconds`). Sits outside the problem
/// middleware, so it sees the status every client saw.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    struct Key: Hashable {
        var route: String
        var method: HTTPRequest.Method
        var status: Int
    }

    let metrics: ServerMetrics
    /// Metric objects are made once per key; the registry would dedupe them anyway, but
    /// making one costs a lock and allocations a request should not pay.
    final class Cache: Sendable {
        let instruments = Mutex<[Key: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])
    }

    private let cache = Cache()

    init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        // Unmatched paths share one label: the raw path would be unbounded.
        let key = Key(route: context.endpointPath ?? "unmatched", method: request.method, status: response.status.code)
        let (counter, timer) = self.instruments(for: key)
        counter.increment()
        timer.record(duration: ContinuousClock.now - start)
        return response
    }

    private func instruments(for key: Key) -> (CoreMetrics.Counter, CoreMetrics.Timer) {
        if let found = cache.instruments.withLock({ $0[key] }) { return found }
        let labels = [("route", key.route), ("method", key.method.rawValue), ("status", String(key.status))]
        let made = (
            metrics.counter("http_requests_total", labels),
            metrics.timer("http_request_duration_seconds", labels)
        )
        return cache.instruments.withLock { cache in
            if let raced = cache[key] { return raced }
            cache[key] = made
            return made
        }
    }
}
