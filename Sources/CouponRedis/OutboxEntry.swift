import CouponCore
import RESP

/// One entry of a campaign's outbox stream: a coupon the gate issued.
struct OutboxEntry: Sendable {
    var id: String
    var fields: [String: String]

    /// The coupon this entry records; throws a reason for the dead-letter stream when it cannot be read.
    func coupon(expecting campaign: CampaignID) throws(OutboxEntryError) -> (coupon: Coupon, epoch: Int64) {
        guard let campaignText = self.fields["campaign"], campaignText == campaign.rawValue else {
            throw OutboxEntryError("field 'campaign' is \(self.fields["campaign"].map { "'\($0)'" } ?? "missing"), expected '\(campaign)'")
        }
        guard let userText = self.fields["user"], let userValue = Int64(userText), let user = try? UserID(userValue) else {
            throw OutboxEntryError("field 'user' is not a user id: \(self.fields["user"] ?? "missing")")
        }
        guard let sequence = self.fields["seq"].flatMap(Int64.init), sequence > 0 else {
            throw OutboxEntryError("field 'seq' is not a positive integer: \(self.fields["seq"] ?? "missing")")
        }
        guard let at = self.fields["at"].flatMap(Int64.init) else {
            throw OutboxEntryError("field 'at' is not a timestamp: \(self.fields["at"] ?? "missing")")
        }
        let epoch = self.fields["epoch"].flatMap(Int64.init) ?? 0
        return (Coupon(campaignID: campaign, userID: user, sequence: sequence, issuedAt: Timestamp(millisecondsSince1970: at)), epoch)
    }

    /// The entries of an XREADGROUP or XAUTOCLAIM answer for one stream, in RESP2 or RESP3 shape.
    static func entries(in list: RESPValue) -> [OutboxEntry] {
        guard let items = list.array else { return [] }
        return items.compactMap { item in
            // A deleted entry still pending comes back as [id, nil]; it has nothing to relay.
            guard let pair = item.array, pair.count == 2, let id = pair[0].string else { return nil }
            var fields: [String: String] = [:]
            if let flat = pair[1].array {
                var index = 0
                while index + 1 < flat.count {
                    if let key = flat[index].string { fields[key] = flat[index + 1].string }
                    index += 2
                }
            } else if case .map(let map) = pair[1] {
                for (key, value) in map {
                    if let key = key.string { fields[key] = value.string }
                }
            } else {
                return nil
            }
            return OutboxEntry(id: id, fields: fields)
        }
    }

    /// The entries of an XREADGROUP answer (a map in RESP3, `[[stream, entries]]` in RESP2; null when empty).
    static func entries(inReadReply reply: RESPValue) -> [OutboxEntry] {
        switch reply {
        case .map(let streams):
            return streams.values.flatMap { Self.entries(in: $0) }
        case .array(let streams):
            return streams.flatMap { stream -> [OutboxEntry] in
                guard let pair = stream.array, pair.count == 2 else { return [] }
                return Self.entries(in: pair[1])
            }
        default:
            return []
        }
    }
}

struct OutboxEntryError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
