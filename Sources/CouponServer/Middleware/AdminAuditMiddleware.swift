import HTTPTypes
import Hummingbird
import Logging

/// One audit line per admin request, whatever its outcome: who (peer address), what (method,
/// path, the created resource's `Location`), the status answered, and the request id. Refused
/// attempts (401) are logged too: they are what an audit is for. Sits outside
/// ``AdminAuthMiddleware``, so it sees every answer; only admin routes pay for it.
///
/// It sits inside ``ProblemMiddleware``, so a route's error reaches it unanswered: it turns the
/// error into the client's answer with ``ProblemMiddleware`` itself, so the line records the
/// status the client got (a `CouponError` is not an `HTTPResponseError`: 404, 409 …, not 500).
struct AdminAuditMiddleware: RouterMiddleware {
    typealias Context = CouponRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            Self.log(request, context: context, status: response.status, location: response.headers[.location])
            return response
        } catch {
            let response = ProblemMiddleware.response(for: error, request: request, context: context)
            Self.log(request, context: context, status: response.status, location: nil)
            return response
        }
    }

    static func log(_ request: Request, context: Context, status: HTTPResponse.Status, location: String?) {
        var metadata: Logger.Metadata = [
            "method": "\(request.method)",
            "path": "\(request.uri.path)",
            "status": "\(status.code)",
            "peer": "\(context.remoteAddress.map { "\($0)" } ?? "unknown")",
            "request_id": "\(context.requestID)",
        ]
        if let location {
            metadata["location"] = "\(location)"
        }
        context.logger.notice("admin audit", metadata: metadata)
    }
}
