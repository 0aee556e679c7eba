import CouponCore
import HTTPTypes
import Hummingbird
import Logging

/// Turns every error a route throws into an `application/problem+json` answer.
///
/// Hummingbird answers an error that is not an `HTTPResponseError` with an
/// empty 500; this middleware sits outside every route (and the not-found
/// responder) so that no error leaves without a problem body naming it.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = CouponRequestContext

    /// Tells a known path called with another method (405) from an unknown path (404).
    static let routes = DocumentedRoutes(openAPI: OpenAPIDocument.yaml)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.response(for: error, request: request, context: context)
        }
    }

    /// The answer a client gets for `error`: the one mapping from errors to problems, which
    /// ``AdminAuditMiddleware`` also uses so that it logs the status the client got.
    static func response(for error: any Error, request: Request, context: Context) -> Response {
        switch error {
        case let problem as Problem:
            return problem.response
        case let error as CouponError:
            if error.code == .storeUnavailable {
                context.logger.warning("Store unavailable", metadata: ["error": "\(error)", "request_id": "\(context.requestID)"])
            }
            return Problem(error).response
        case let error as HTTPError:
            return Self.problem(for: error, request: request).response
        case let error as any HTTPResponseError:
            let status = error.status
            return Problem(status, kind: "http-\(status.code)", title: status.reasonPhrase, detail: "\(error)").response
        default:
            context.logger.error(
                "Unhandled error",
                metadata: ["error": "\(error)", "path": "\(request.uri.path)", "request_id": "\(context.requestID)"]
            )
            return Problem(
                .internalServerError,
                kind: "internal",
                title: "Internal error",
                detail: "The server failed to handle \(request.method) \(request.uri.path); the error is logged."
            ).response
        }
    }

    /// Hummingbird's own errors: unknown routes, oversized bodies and the like.
    static func problem(for error: HTTPError, request: Request) -> Problem {
        let detail: String
        let kind: String
        switch error.status {
        case .notFound:
            if let methods = Self.routes.methods(for: request.uri.path), !methods.contains(request.method.rawValue) {
                var problem = Problem(
                    .methodNotAllowed,
                    kind: "method-not-allowed",
                    title: "Method Not Allowed",
                    detail: "\(request.uri.path) answers \(methods.joined(separator: ", ")), not \(request.method)."
                )
                problem.headers[.allow] = methods.joined(separator: ", ")
                return problem
            }
            kind = "not-found"
            detail = "No route matches \(request.method) \(request.uri.path)."
        case .contentTooLarge:
            kind = "body-too-large"
            detail = error.body ?? "The request body is too large."
        default:
            kind = "http-\(error.status.code)"
            detail = error.body ?? error.status.reasonPhrase
        }
        var problem = Problem(error.status, kind: kind, title: error.status.reasonPhrase, detail: detail)
        if error.status == .serviceUnavailable || error.status == .tooManyRequests {
            problem.retryAfter = 1
        }
        return problem
    }
}
