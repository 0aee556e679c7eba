import CoreMetrics
import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// `http_requests_total` and `http_request_duration_seconds` by route pattern, method and status:
/// made once per key (the registry would dedupe them anyway, but making one costs a lock and
/// allocations a request should not pay). Shared by ``HTTPMetricsMiddleware`` and the sold-out
/// fast path, so both count into the same series.
final class HTTPInstruments: Sendable {
    struct Key: Hashable {
        var route: String
        var method: HTTPRequest.Method
        var status: Int
    }

    let metrics: ServerMetrics
    private let instruments = Mutex<[Key: (CoreMetrics.Counter, CoreMetrics.Timer)]>([:])

    init(metrics: ServerMetrics) {
        self.metrics = metrics
    }

    /// Counts one answer and its duration.
    func record(_ key: Key, duration: Duration) {
        let (counter, timer) = self.instruments(for: key)
        counter.increment()
        timer.record(duration: duration)
    }

    /// The counter and timer of `key`, for a caller that records one key often (the fast path).
    func instruments(for key: Key) -> (CoreMetrics.Counter, CoreMetrics.Timer) {
        if let found = self.instruments.withLock({ $0[key] }) { return found }
        let labels = [("route", key.route), ("method", key.method.rawValue), ("status", String(key.status))]
        let made = (
            self.metrics.counter("http_requests_total", labels),
            self.metrics.timer("http_request_duration_seconds", labels)
        )
        return self.instruments.withLock { cache in
            if let raced = cache[key] { return raced }
            cache[key] = made
            return made
        }
    }
}

/// Counts requests by route pattern, method and status, and times them by route. Sits outside
/// the problem middleware, so it sees the status every client saw.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let instruments: HTTPInstruments

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        // Unmatched paths share one label: the raw path would be unbounded.
        let key = HTTPInstruments.Key(route: context.endpointPath ?? "unmatched", method: request.method, status: response.status.code)
        self.instruments.record(key, duration: ContinuousClock.now - start)
        return response
    }
}
