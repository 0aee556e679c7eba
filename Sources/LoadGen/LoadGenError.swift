/// What a load run can refuse or fail with; every message names what was wrong.
public enum LoadGenError: Error, Sendable, Equatable, CustomStringConvertible {
    case badStages(String)
    case badOption(String)
    case badURL(String)
    case targetUnreachable(String)
    case adminRefused(String)
    case badResults(String)

    public var description: String {
        switch self {
        case .badStages(let message): "bad --stages: \(message)"
        case .badOption(let message): message
        case .badURL(let message): "bad --url: \(message)"
        case .targetUnreachable(let message): "target unreachable: \(message)"
        case .adminRefused(let message): "admin call refused: \(message)"
        case .badResults(let message): "bad results file: \(message)"
        }
    }
}
