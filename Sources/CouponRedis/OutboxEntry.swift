import CouponCore
import RESP

/// One entry of a campaign's outbox stream: the coupons one gate-script call issued.
///
/// `campaign`, `epoch`, `at` (ms since 1970), `first` (the first sequence) and `users` (comma-
/// separated ids; user i has sequence first + i). Entries written by earlier versions hold one
/// coupon as `user` and `seq` instead of `first` and `users`; both are read.
struct OutboxEntry: Sendable {
    var id: String
    var fields: [String: String]

    /// The coupons this entry records; throws a reason for the dead-letter stream when it cannot
    /// be read. Nothing of an unreadable entry is written: it goes to the dead letters whole.
    func coupons(expecting campaign: CampaignID) throws(OutboxEntryError) -> (coupons: [Coupon], epoch: Int64) {
        guard let campaignText = self.fields["campaign"], campaignText == campaign.rawValue else {
            throw OutboxEntryError("field 'campaign' is \(self.fields["campaign"].map { "'\($0)'" } ?? "missing"), expected '\(campaign)'")
        }
        guard let at = self.fields["at"].flatMap(Int64.init) else {
            throw OutboxEntryError("field 'at' is not a timestamp: \(self.fields["at"] ?? "missing")")
        }
        let issuedAt = Timestamp(millisecondsSince1970: at)
        let epoch = self.fields["epoch"].flatMap(Int64.init) ?? 0
        if self.fields["users"] == nil, let userText = self.fields["user"] {
            let user = try Self.user(userText, field: "user")
            let sequence = try Self.sequence(self.fields["seq"], field: "seq")
            return ([Coupon(campaignID: campaign, userID: user, sequence: sequence, issuedAt: issuedAt)], epoch)
        }
        guard let usersText = self.fields["users"], !usersText.isEmpty else {
            throw OutboxEntryError("field 'users' is \(self.fields["users"] == nil ? "missing" : "empty")")
        }
        let first = try Self.sequence(self.fields["first"], field: "first")
        var coupons: [Coupon] = []
        for (offset, userText) in usersText.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let (sequence, overflow) = first.addingReportingOverflow(Int64(offset))
            guard !overflow else { throw OutboxEntryError("field 'first' + \(offset) overflows") }
            coupons.append(Coupon(campaignID: campaign, userID: try Self.user(userText, field: "users"), sequence: sequence, issuedAt: issuedAt))
        }
        return (coupons, epoch)
    }

    private static func user(_ text: some StringProtocol, field: String) throws(OutboxEntryError) -> UserID {
        guard let value = Int64(text), let user = try? UserID(value) else {
            throw OutboxEntryError("field '\(field)' holds '\(text.prefix(40))', not a user id")
        }
        return user
    }

    private static func sequence(_ text: String?, field: String) throws(OutboxEntryError) -> Int64 {
        guard let sequence = text.flatMap(Int64.init), sequence > 0 else {
            throw OutboxEntryError("field '\(field)' is not a positive integer: \(text ?? "missing")")
        }
        return sequence
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
