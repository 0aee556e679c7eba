/// Scripts that create, reset and rebuild a campaign's keys, each one atomic step.
///
/// KEYS are those of ``IssueScript``: 1 meta, 2 issued, 3 winners, 4 outbox, 5 idem. The Lua is in
/// `Lua/`, embedded in the binary by SwiftPM.
enum CampaignScripts {
    /// ARGV: 1 limit, 2 startsAt ms or "", 3 endsAt ms or "".
    /// Clears whatever an earlier campaign of the same id left and bumps the epoch,
    /// so instances holding a cached answer for the old one drop it. Returns the epoch.
    static let create = String(decoding: PackageResources.create_lua, as: UTF8.self)

    /// No ARGV. Empties the campaign and bumps its epoch; returns the epoch, or -1 when the campaign has no keys.
    static let reset = String(decoding: PackageResources.reset_lua, as: UTF8.self)

    /// ARGV: 1 limit, 2 startsAt, 3 endsAt, 4 issued, 5 epoch (the database's).
    /// The last step of restoring keys lost by Redis (a restart without
    /// persistence) from the database: the winners are written first, then
    /// this sets the counter and the meta hash — only if meta is still
    /// missing, so a concurrent rebuild or a create wins. Until meta exists the
    /// issue script admits nobody. The outbox is not restored: its rows are in
    /// the database already.
    static let rebuild = String(decoding: PackageResources.rebuild_lua, as: UTF8.self)
}
