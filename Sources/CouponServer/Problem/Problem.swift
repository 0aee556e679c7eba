import CouponCore
import HTTPTypes
import Hummingbird
import NIOCore

/// An RFC 9457 problem: every error CouponGate answers is one, as `application/problem+json`.
///
/// `type` is a URN naming the kind of problem, stable for clients to match on;
/// `detail` is a sentence naming what was wrong with this request.
struct Problem: HTTPResponseError, Sendable {
    var status: HTTPResponse.Status
    /// The last part of the `type` URN, e.g. `sold-out`.
    var kind: String
    var title: String
    var detail: String
    /// Seconds a client should wait before retrying (503, 429).
    var retryAfter: Int?
    /// More headers: `Allow` on a 405, `WWW-Authenticate` on a 401.
    var headers: HTTPFields = [:]
    /// Extension members, written after the standard ones.
    var extensions: @Sendable (inout JSONWriter) -> Void = { _ in }

    static let contentType = "application/problem+json"

    init(
        _ status: HTTPResponse.Status,
        kind: String,
        title: String,
        detail: String,
        retryAfter: Int? = nil,
        extensions: @escaping @Sendable (inout JSONWriter) -> Void = { _ in }
    ) {
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.retryAfter = retryAfter
        self.extensions = extensions
    }

    var body: ByteBuffer {
        var json = JSONWriter()
        json.field("type", "urn:coupongate:problem:\(self.kind)")
        json.field("title", self.title)
        json.field("status", self.status.code)
        json.field("detail", self.detail)
        self.extensions(&json)
        return json.finish()
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        self.response
    }

    var response: Response {
        var headers: HTTPFields = [.contentType: Self.contentType]
        if let retryAfter {
            headers[.retryAfter] = String(retryAfter)
        }
        headers.append(contentsOf: self.headers)
        return Response(status: self.status, headers: headers, body: .init(byteBuffer: self.body))
    }
}

// MARK: The problems of the domain

extension Problem {
    init(_ error: CouponError) {
        switch error.code {
        case .invalidUserID:
            self.init(.badRequest, kind: "invalid-user-id", title: "Invalid userId", detail: error.message)
        case .invalidCampaignID:
            self.init(.badRequest, kind: "invalid-campaign-id", title: "Invalid campaign id", detail: error.message)
        case .invalidCampaign:
            self.init(.badRequest, kind: "invalid-campaign", title: "Invalid campaign", detail: error.message)
        case .unknownCampaign:
            self.init(.notFound, kind: "unknown-campaign", title: "Unknown campaign", detail: error.message)
        case .campaignExists:
            self.init(.conflict, kind: "campaign-exists", title: "Campaign exists", detail: error.message)
        case .storeUnavailable:
            self.init(.serviceUnavailable, kind: "unavailable", title: "Service unavailable", detail: error.message, retryAfter: 1)
        default:
            self.init(.internalServerError, kind: "internal", title: "Internal error", detail: error.message)
        }
    }

    static func alreadyIssued(_ coupon: Coupon) -> Problem {
        Problem(
            .conflict,
            kind: "already-issued",
            title: "Already issued",
            detail: "User \(coupon.userID) already holds coupon #\(coupon.sequence) of campaign '\(coupon.campaignID)'."
        ) { json in
            json.field("coupon") { $0.write(coupon) }
        }
    }

    static func notOpenYet(_ campaign: CampaignID, startsAt: Timestamp) -> Problem {
        Problem(.forbidden, kind: "not-open", title: "Not open yet", detail: "Campaign '\(campaign)' opens at \(startsAt).") { json in
            json.field("startsAt", startsAt)
        }
    }

    static func closed(_ campaign: CampaignID, endsAt: Timestamp) -> Problem {
        Problem(.forbidden, kind: "closed", title: "Closed", detail: "Campaign '\(campaign)' closed at \(endsAt).") { json in
            json.field("endsAt", endsAt)
        }
    }

    static func badRequest(_ detail: String, kind: String = "bad-request") -> Problem {
        Problem(.badRequest, kind: kind, title: "Bad request", detail: detail)
    }
}
