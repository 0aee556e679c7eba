/// A bound parameter or a fetched column: the three kinds our schema uses.
enum MySQLValue: Sendable, Hashable {
    case int(Int64)
    case text(String)
    case null

    var int: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }
}

/// What a result column is fetched as.
enum MySQLColumn: Sendable {
    case int
    case text
}
