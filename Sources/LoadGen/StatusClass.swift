/// The seed's status columns; every request lands in exactly one.
public enum StatusClass: Int, CaseIterable, Sendable, Codable {
    case ok200, conflict409, soldOut422, other4xx, server5xx, other, network

    public init(status: Int) {
        switch status {
        case 200: self = .ok200
        case 409: self = .conflict409
        case 422: self = .soldOut422
        case 400..<500: self = .other4xx
        case 500..<600: self = .server5xx
        default: self = .other
        }
    }

    /// The key in results.json.
    public var key: String {
        switch self {
        case .ok200: "200"
        case .conflict409: "409"
        case .soldOut422: "422"
        case .other4xx: "other4xx"
        case .server5xx: "5xx"
        case .other: "other"
        case .network: "network"
        }
    }

    /// A column heading in the reports.
    public var heading: String {
        switch self {
        case .other4xx: "4xx"
        case .network: "net err"
        default: key
        }
    }
}

/// A count per ``StatusClass``.
public struct StatusCounts: Sendable, Equatable {
    public private(set) var counts = [Int](repeating: 0, count: StatusClass.allCases.count)

    public init() {}

    public subscript(_ status: StatusClass) -> Int {
        get { counts[status.rawValue] }
        set { counts[status.rawValue] = newValue }
    }

    public var total: Int { counts.reduce(0, +) }
    /// Everything but 200, 409 and 422: what the seed called errors.
    public var errors: Int { self[.other4xx] + self[.server5xx] + self[.other] + self[.network] }

    public mutating func add(_ other: StatusCounts) {
        for index in counts.indices { counts[index] += other.counts[index] }
    }
}

extension StatusCounts: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let dictionary = try container.decode([String: Int].self)
        for status in StatusClass.allCases {
            guard let value = dictionary[status.key] else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "status counts lack the key '\(status.key)'"
                )
            }
            self[status] = value
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Dictionary(uniqueKeysWithValues: StatusClass.allCases.map { ($0.key, self[$0]) }))
    }
}
