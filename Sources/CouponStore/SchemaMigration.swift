/// A numbered schema change. Versions only grow; an applied one is never edited.
struct SchemaMigration: Sendable {
    var version: Int
    var name: String
    var statements: [String]
}
