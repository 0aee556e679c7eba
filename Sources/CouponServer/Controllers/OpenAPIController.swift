import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /openapi.yaml`: the API's OpenAPI 3.1 document (openapi.yaml, embedded in the binary).
struct OpenAPIController<Context: RequestContext> {
    /// Encoded once: the document does not change while the process runs.
    private let body = ByteBuffer(string: OpenAPIDocument.yaml)

    func addRoutes(to router: Router<Context>) {
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: self.body))
        }
    }
}
