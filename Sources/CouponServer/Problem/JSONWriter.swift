import CouponCore
import NIOCore

/// Writes one JSON object straight into a `ByteBuffer`.
///
/// Responses are small and fixed in shape; writing them by hand avoids
/// `JSONEncoder`'s per-request allocations on the apply path (docs/DESIGN.md, "The hot path").
struct JSONWriter {
    private(set) var buffer: ByteBuffer
    private var needsComma = false

    init(capacity: Int = 256) {
        self.buffer = ByteBufferAllocator().buffer(capacity: capacity)
        self.buffer.writeInteger(UInt8(ascii: "{"))
    }

    mutating func field(_ name: StaticString, _ value: String) {
        self.key(name)
        Self.writeString(value, to: &self.buffer)
    }

    mutating func field(_ name: StaticString, _ value: Int64) {
        self.key(name)
        self.buffer.writeString(String(value))
    }

    mutating func field(_ name: StaticString, _ value: Int) {
        self.field(name, Int64(value))
    }

    mutating func field(_ name: StaticString, _ value: Timestamp?) {
        self.key(name)
        if let value {
            Self.writeString(value.rfc3339, to: &self.buffer)
        } else {
            self.buffer.writeStaticString("null")
        }
    }

    /// A nested object.
    mutating func field(_ name: StaticString, object: (inout JSONWriter) -> Void) {
        self.key(name)
        var nested = JSONWriter(capacity: 128)
        object(&nested)
        var inner = nested.finish()
        self.buffer.writeBuffer(&inner)
    }

    /// An array of nested objects.
    mutating func field<Element>(_ name: StaticString, array: some Sequence<Element>, element: (inout JSONWriter, Element) -> Void) {
        self.key(name)
        self.buffer.writeInteger(UInt8(ascii: "["))
        var first = true
        for item in array {
            if !first { self.buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            var nested = JSONWriter(capacity: 128)
            element(&nested, item)
            var inner = nested.finish()
            self.buffer.writeBuffer(&inner)
        }
        self.buffer.writeInteger(UInt8(ascii: "]"))
    }

    consuming func finish() -> ByteBuffer {
        self.buffer.writeInteger(UInt8(ascii: "}"))
        return self.buffer
    }

    private mutating func key(_ name: StaticString) {
        if self.needsComma { self.buffer.writeInteger(UInt8(ascii: ",")) }
        self.needsComma = true
        self.buffer.writeInteger(UInt8(ascii: "\""))
        self.buffer.writeStaticString(name)
        self.buffer.writeStaticString("\":")
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static func writeString(_ value: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case 0..<0x20:
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(Self.hexDigits[Int(byte >> 4)])
                buffer.writeInteger(Self.hexDigits[Int(byte & 0xF)])
            default: buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }
}

extension JSONWriter {
    mutating func write(_ coupon: Coupon) {
        self.field("campaignId", coupon.campaignID.rawValue)
        self.field("userId", coupon.userID.rawValue)
        self.field("sequence", coupon.sequence)
        self.field("issuedAt", coupon.issuedAt)
    }

    mutating func write(_ status: CampaignStatus, at now: Timestamp) {
        self.field("id", status.campaign.id.rawValue)
        self.field("name", status.campaign.name)
        self.field("limit", status.campaign.limit)
        self.field("issued", status.issued)
        self.field("remaining", status.remaining)
        self.field("status", status.state(at: now).rawValue)
        self.field("startsAt", status.campaign.startsAt)
        self.field("endsAt", status.campaign.endsAt)
        self.field("createdAt", status.campaign.createdAt)
    }
}
