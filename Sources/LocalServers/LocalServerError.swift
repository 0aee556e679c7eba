/// A throwaway server that could not be found, started or made ready; the message says which and why
/// (for a missing program: the package that provides it).
public struct LocalServerError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
