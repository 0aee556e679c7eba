import CouponCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST /admin/campaigns` and `POST /admin/campaigns/{id}/reset`, behind the admin token.
struct AdminController {
    typealias Context = CouponRequestContext

    /// Largest admin request body; a campaign fits in a few hundred bytes.
    static var maximumBodySize: Int { 16 * 1024 }

    let gate: any CouponGate
    let token: AdminToken
    let clock: any WallClock

    func addRoutes(to router: Router<Context>) {
        let admin = router.group("/admin")
            .add(middleware: AdminAuditMiddleware())
            .add(middleware: AdminAuthMiddleware(token: self.token))
        admin.post("/campaigns") { request, _ in
            let campaign = try await self.decodeCampaign(request)
            let status = try await self.gate.create(campaign)
            var response = self.respond(status, status: .created)
            response.headers[.location] = "/campaigns/\(campaign.id)"
            return response
        }
        admin.post("/campaigns/:id/reset") { _, context in
            let id = try CampaignID(validating: context.parameters.get("id") ?? "")
            return self.respond(try await self.gate.reset(id), status: .ok)
        }
    }

    private func respond(_ campaign: CampaignStatus, status: HTTPResponse.Status) -> Response {
        var json = JSONWriter()
        json.write(campaign, at: self.clock.now())
        return Response(status: status, headers: ContentHeaders.json, body: .init(byteBuffer: json.finish()))
    }

    /// The body of `POST /admin/campaigns`, as sent.
    struct CreateCampaign: Decodable {
        var id: String
        var name: String
        var limit: Int64
        var startsAt: String?
        var endsAt: String?
    }

    func decodeCampaign(_ request: Request) async throws -> Campaign {
        if let contentType = request.headers[.contentType],
            !(contentType.hasPrefix("application/json") || contentType.contains("+json"))
        {
            throw Problem(
                .unsupportedMediaType,
                kind: "unsupported-media-type",
                title: "Unsupported media type",
                detail: "The body must be JSON (Content-Type: application/json); got '\(contentType)'."
            )
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maximumBodySize)
        } catch is NIOTooManyBytesError {
            throw Problem(
                .contentTooLarge,
                kind: "body-too-large",
                title: "Body too large",
                detail: "The request body is larger than \(Self.maximumBodySize) bytes."
            )
        }
        let input: CreateCampaign
        do {
            input = try JSONDecoder().decode(CreateCampaign.self, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            throw Problem.badRequest(Self.describe(error), kind: "invalid-json")
        }
        let id = try CampaignID(validating: input.id)
        let startsAt = try Self.timestamp(input.startsAt, field: "startsAt")
        let endsAt = try Self.timestamp(input.endsAt, field: "endsAt")
        return try Campaign(id: id, name: input.name, limit: input.limit, startsAt: startsAt, endsAt: endsAt, createdAt: self.clock.now())
    }

    /// 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, in milliseconds.
    static let acceptedTimes: ClosedRange<Int64> = 0...253_402_300_799_999

    private static func timestamp(_ text: String?, field: String) throws -> Timestamp? {
        guard let text else { return nil }
        guard let timestamp = Timestamp(rfc3339: text) else {
            throw CouponError(.invalidCampaign, "\(field) '\(text.prefix(64))' is not an RFC 3339 date-time such as 2026-12-01T09:00:00Z.")
        }
        // Outside these years Foundation's calendar (Julian before 1582) and ours disagree, and
        // no campaign runs there: refuse rather than store a time that reads back differently.
        guard Self.acceptedTimes.contains(timestamp.millisecondsSince1970) else {
            throw CouponError(.invalidCampaign, "\(field) '\(text.prefix(64))' is outside 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.")
        }
        return timestamp
    }

    /// A sentence naming the field and what is wrong with it, instead of Foundation's debug text.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map(\.stringValue).joined(separator: ".")
        }
        let expected = "expected {\"id\": string, \"name\": string, \"limit\": integer, \"startsAt\"?: RFC 3339, \"endsAt\"?: RFC 3339}"
        switch error {
        case .keyNotFound(let key, _):
            return "The field '\(key.stringValue)' is missing; \(expected)."
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let field = path(context.codingPath)
            if field == "limit" {
                return "The field 'limit' must be an integer between 1 and \(Campaign.maximumLimit)."
            }
            return field.isEmpty ? "The body must be a JSON object; \(expected)." : "The field '\(field)' has the wrong type; \(expected)."
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            if field == "limit" {
                return "The field 'limit' must be an integer between 1 and \(Campaign.maximumLimit)."
            }
            return field.isEmpty ? "The body is not valid JSON; \(expected)." : "The field '\(field)' is not valid; \(expected)."
        @unknown default:
            return "The body could not be read; \(expected)."
        }
    }
}
