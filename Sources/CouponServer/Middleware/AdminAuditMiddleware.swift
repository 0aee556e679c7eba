import HTTPTypes
import Hummingbird
import Logging

/// One audit line per admin request, whatever its outcome: who (peer address), what (method,
/// path, the created resource's `Location`), the status answered, and the request id. Refused
/// attempts (401) are logged too: they are what an audit is for. Sits outside
/// ``AdminAuthMiddleware``, so it sees every answer; only admin routes pay for it.
struct AdminAuditMiddleware: RouterMiddleware {
    typealias Context = CouponRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            Self.log(request, context: context, status: response.status, location: response.headers[.location])
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            Self.log(request, context: context, status: status, location: nil)
            throw error
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
