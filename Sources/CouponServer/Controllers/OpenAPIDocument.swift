/// `openapi.yaml` (this target's resource, which SwiftPM embeds in the binary): served at
/// `/openapi.yaml`, and read for the route list that tells 405 from 404.
enum OpenAPIDocument {
    static let yaml = String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
}
