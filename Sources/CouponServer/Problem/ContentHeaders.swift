import HTTPTypes

/// Header sets shared by every response of a kind, built once.
enum ContentHeaders {
    static let json: HTTPFields = [.contentType: "application/json"]
    static let problem: HTTPFields = [.contentType: Problem.contentType]
}
