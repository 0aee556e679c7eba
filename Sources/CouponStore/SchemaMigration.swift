/// A numbered schema change. Versions only grow; an applied one is never edited.
package struct SchemaMigration: Sendable {
    package var version: Int
    package var name: String
    package var statements: [String]

    package init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}
