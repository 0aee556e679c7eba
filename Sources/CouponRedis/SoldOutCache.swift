import CouponCore
import Synchronization

/// What this instance knows of sold-out campaigns, to answer them without Redis.
///
/// Once a campaign is sold out its answers can no longer change until it is
/// reset: everyone who is not a winner gets 422, every winner 409 with its
/// coupon. So the first request that learns "sold out" loads the winners
/// once, and from then on nearly every request of the drop is answered from
/// memory. Each entry carries the campaign's epoch; ``SoldOutWatcher`` drops
/// an entry whose epoch Redis no longer has (a reset), within a second.
final class SoldOutCache: Sendable {
    struct Entry: Sendable {
        var epoch: Int64
        var winners: [UserID: Coupon]
    }

    private enum Slot {
        case loading
        case soldOut(Entry)
    }

    private let slots = Mutex<[CampaignID: Slot]>([:])

    init() {}

    /// The answer from memory, or nil when Redis must decide.
    func answer(for user: UserID, in campaign: CampaignID) -> ApplyOutcome? {
        self.slots.withLock { slots in
            guard case .soldOut(let entry) = slots[campaign] else { return nil }
            if let coupon = entry.winners[user] { return .alreadyIssued(coupon) }
            return .soldOut
        }
    }

    /// Claims the right to load a campaign's winners; false when another request already does or did.
    func beginLoading(_ campaign: CampaignID) -> Bool {
        self.slots.withLock { slots in
            guard slots[campaign] == nil else { return false }
            slots[campaign] = .loading
            return true
        }
    }

    func finishLoading(_ campaign: CampaignID, with entry: Entry?) {
        self.slots.withLock { slots in
            guard case .loading = slots[campaign] else { return }
            slots[campaign] = entry.map { .soldOut($0) }
        }
    }

    /// The campaigns answered from memory, with the epoch each was loaded at.
    var epochs: [CampaignID: Int64] {
        self.slots.withLock { slots in
            slots.compactMapValues { slot in
                guard case .soldOut(let entry) = slot else { return nil }
                return entry.epoch
            }
        }
    }

    /// Forgets a campaign, unless it was reloaded at another epoch meanwhile.
    func evict(_ campaign: CampaignID, ifEpoch epoch: Int64? = nil) {
        self.slots.withLock { slots in
            if let epoch, case .soldOut(let entry) = slots[campaign], entry.epoch != epoch { return }
            slots[campaign] = nil
        }
    }
}
