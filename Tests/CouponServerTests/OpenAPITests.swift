import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CouponServer

@Suite struct OpenAPITests {
    @Test func theServedDocumentIsOpenapiYamlAsCommitted() async throws {
        // The repository's openapi.yaml (a link to the target's resource, which SwiftPM embeds).
        let file = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("openapi.yaml")
        let committed = try String(contentsOf: file, encoding: .utf8)
        #expect(committed.hasPrefix("openapi: 3.1"))
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                let response = try await client.execute(uri: "/openapi.yaml", method: .get)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/yaml")
                #expect(String(buffer: response.body) == committed)
            }
        }
    }

    /// Every documented operation is routed (none answers the router's not-found), and a
    /// documented path called with another method answers 405 with `Allow`.
    @Test func everyDocumentedOperationIsServedAndOtherMethodsAre405() async throws {
        let routes = DocumentedRoutes(openAPI: OpenAPIDocument.yaml).routes
        #expect(routes.count >= 11, "the document's paths were read: \(routes.count)")
        try await TestSupport.withDirectory { directory in
            try await TestSupport.withApp(directory: directory) { client in
                for route in routes {
                    let path = "/" + route.segments.map { $0.map(String.init) ?? "1" }.joined(separator: "/")
                    for method in route.methods {
                        let response = try await client.execute(
                            uri: path,
                            method: HTTPRequest.Method(method) ?? .get,
                            headers: TestSupport.adminHeaders
                        )
                        let kind = (try? response.json["type"] as? String) ?? nil
                        #expect(kind != "urn:coupongate:problem:not-found", "\(method) \(path) is documented but not routed")
                        #expect(response.status != .methodNotAllowed, "\(method) \(path)")
                    }
                    let trace = try await client.execute(uri: path, method: .trace)
                    try trace.expectProblem(.methodNotAllowed, kind: "method-not-allowed")
                    #expect(trace.headers[.allow] == route.methods.joined(separator: ", "), "\(path)")
                }
                let unknown = try await client.execute(uri: "/nowhere", method: .trace)
                try unknown.expectProblem(.notFound, kind: "not-found")
            }
        }
    }
}
