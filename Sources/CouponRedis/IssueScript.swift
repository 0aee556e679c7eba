/// The gate as one Lua script: every admission decision in one atomic step and one round trip,
/// for a batch of users of one campaign (see ``RequestBatcher``), in the order given.
///
/// The Lua is `Lua/issue.lua`, embedded in the binary by SwiftPM (`.embedInCode`), so the
/// `coupongate` binary needs no resource folder beside it.
///
/// KEYS (all share the hash tag `{c:<id>}`, so a campaign lives on one cluster shard):
///   1 meta     hash: limit, startsAt, endsAt (ms since 1970, "" when open-ended), epoch
///   2 issued   counter: sequence numbers handed out
///   3 winners  hash: userId → "<sequence>:<issuedAt ms>"
///   4 outbox   stream: one entry per call that issued coupons, read by the relay (see below)
///   5 idem     hash: idempotency key → the winner whose apply carried it
/// ARGV: 1 campaign id, 2 applies per second per user, 3 per client address ("0": no limit),
///   then three per user, one or more users: the user id, the client address ("-": none),
///   the idempotency key ("-": none)
///
/// An idempotency key is recorded with the winner it won for. The same key again is answered
/// before anything else: for that user, the original win ("AGAIN"), without touching the rate
/// limits; for another user, "KEYUSED". So a request repeated after a lost answer (by the
/// client, or by the server after an ambiguous Redis failure) gets its 200 back, not a 409.
/// Keys of requests that did not win are not recorded.
///
/// Rate limits are token buckets (burst = rate, at least 1) in hashes beside the campaign's
/// keys, `{c:<id>}:rl:u:<user>` and `{c:<id>}:rl:a:<client>`: under the campaign's hash tag,
/// so they stay on its cluster shard, and checked before anything else for that user.
///
/// The coupons one call issues have consecutive sequences and one issue time, so they go out as
/// one outbox entry: `campaign`, `epoch`, `at`, `first` (the first sequence) and `users` (their
/// ids, comma-separated, in sequence order). The counter and the winners hash are written once
/// per call too. Per winner that halves Redis's work (an `XADD`, an `INCR` and an `HSET` each,
/// and their append-only-file records, cost about as much as everything else together), and the
/// entry is still written in the same atomic step as the counter. ``OutboxEntry`` also reads
/// the one-coupon entries (`user`, `seq`) earlier versions wrote.
///
/// Returns `{"NOCAMPAIGN"}` when the campaign's keys are not in Redis (never created, or lost),
/// else `{"BATCH", epoch}` followed by three words per user, in ARGV's order:
///   "OK", seq, issuedAt        a new winner; counter, winner and outbox entry written together
///   "AGAIN", seq, issuedAt     the win this idempotency key already got for this user; nothing written
///   "KEYUSED", "", ""          the idempotency key won for another user; nothing written
///   "DUP", seq, issuedAt       the user had won already (earlier, or earlier in this call)
///   "SOLDOUT", issued, ""      nothing written
///   "NOTOPEN", startsAt, ""    before the window; nothing written
///   "CLOSED", endsAt, ""       after the window; nothing written
///   "LIMITED", waitMs, ""      over a rate limit; only the bucket written
enum IssueScript {
    /// The script's text: Lua/issue.lua, which SwiftPM embeds in the binary.
    static let source = String(decoding: PackageResources.issue_lua, as: UTF8.self)
}
