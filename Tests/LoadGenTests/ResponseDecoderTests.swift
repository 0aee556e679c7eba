import NIOCore
import NIOTestUtils
import Testing

@testable import LoadGen

enum ByteBufferAllocatorForTests {
    static func buffer(_ text: String = "") -> ByteBuffer { ByteBuffer(string: text) }
}

@Suite struct ResponseDecoderTests {
    static let soldOut =
        "HTTP/1.1 422 Unprocessable Content\r\nContent-Type: application/problem+json\r\nContent-Length: 12\r\n\r\n{\"a\":\"sold\"}"
    static let chunked =
        "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n"
    static let closing = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\ncontent-length: 0\r\n\r\n"
    static let http10 = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    static let noContent = "HTTP/1.1 204 No Content\r\n\r\n"

    @Test func decodesByteByByte() throws {
        // The verifier feeds the input whole, byte by byte and in other splits.
        try ByteToMessageDecoderVerifier.verifyDecoder(
            stringInputOutputPairs: [
                (Self.soldOut, [HTTPAnswer(status: 422, closes: false)]),
                (Self.chunked, [HTTPAnswer(status: 200, closes: false)]),
                (Self.closing, [HTTPAnswer(status: 503, closes: true)]),
                (Self.http10, [HTTPAnswer(status: 200, closes: true)]),
                (Self.noContent, [HTTPAnswer(status: 204, closes: false)]),
                (
                    Self.soldOut + Self.closing,
                    [HTTPAnswer(status: 422, closes: false), HTTPAnswer(status: 503, closes: true)]
                ),
            ],
            decoderFactory: { ResponseDecoder() }
        )
    }

    @Test func consumesExactlyOneResponse() throws {
        let buffer = ByteBuffer(string: Self.soldOut + "HTTP/1.1 2")
        let parsed = try #require(try ResponseDecoder.parse(buffer))
        #expect(parsed.0 == HTTPAnswer(status: 422, closes: false))
        #expect(parsed.1 == Self.soldOut.utf8.count)
        #expect(try ResponseDecoder.parse(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc")) == nil)
    }

    @Test func refusesMalformedResponses() {
        let cases: [(String, ResponseDecoder.DecodingError)] = [
            ("GARBAGE GARBAGE\r\n\r\n", .malformedStatusLine),
            ("HTTP/1.1 2x0 OK\r\n\r\n", .malformedStatusLine),
            ("HTTP/1.1 200 OK\r\nNoColonHere\r\n\r\n", .malformedHeader),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", .malformedHeader),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .malformedChunk),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", .malformedChunk),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text.debugDescription)") { try ResponseDecoder.parse(ByteBuffer(string: text)) }
        }
        let endless = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Filler: 0123456789\r\n", count: 4000)
        #expect(throws: ResponseDecoder.DecodingError.headTooLarge) { try ResponseDecoder.parse(ByteBuffer(string: endless)) }
    }
}
