/// The paths and methods of openapi.yaml: what answers 405 (with `Allow`) rather than 404
/// when a known path is called with a method it does not have. The document is the one list
/// of routes; OpenAPITests checks every documented operation is served.
struct DocumentedRoutes: Sendable {
    struct Route: Sendable {
        /// Literal segments, nil where the template has a `{parameter}`.
        let segments: [Substring?]
        var methods: [String]
    }

    let routes: [Route]

    /// Reads the `paths:` section: a path at two spaces' indent, its methods at four.
    init(openAPI yaml: String) {
        var routes: [Route] = []
        var inPaths = false
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: true) {
            if !line.hasPrefix(" ") {
                inPaths = line == "paths:"
                continue
            }
            guard inPaths, line.hasSuffix(":") else { continue }
            if line.hasPrefix("  /") {
                let template = line.dropFirst(2).dropLast()
                let segments = template.split(separator: "/").map { $0.hasPrefix("{") ? nil : $0 }
                routes.append(Route(segments: segments, methods: []))
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), !routes.isEmpty {
                let method = line.dropFirst(4).dropLast()
                if Self.methods.contains(String(method)) {
                    routes[routes.count - 1].methods.append(method.uppercased())
                }
            }
        }
        self.routes = routes
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    /// The documented methods of the path `path` matches, or nil when no documented path does.
    func methods(for path: String) -> [String]? {
        let segments = path.split(separator: "/")
        for route in self.routes where route.segments.count == segments.count {
            let matches = zip(route.segments, segments).allSatisfy { template, actual in template.map { $0 == actual } ?? true }
            if matches {
                return route.methods
            }
        }
        return nil
    }
}
