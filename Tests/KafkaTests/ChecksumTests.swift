import NIOCore
import Testing

@testable import Kafka

@Suite struct ChecksumTests {
    // MARK: CRC-32C

    /// The standard check value, and the iSCSI vectors of RFC 3720 appendix B.4.
    static let crcVectors: [([UInt8], UInt32)] = [
        (Array("123456789".utf8), 0xE306_9283),
        ([], 0x0000_0000),
        (Array(repeating: 0x00, count: 32), 0x8A91_36AA),
        (Array(repeating: 0xFF, count: 32), 0x62A8_AB43),
        (Array(0...31), 0x46DD_794E),
        (Array((0...31).reversed()), 0x113F_DB5C),
    ]

    @Test(arguments: Self.crcVectors)
    func crc32cVectors(input: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(input) == expected)
        #expect(CRC32C.checksum(ByteBuffer(bytes: input)) == expected)
    }

    @Test func crc32cIsIncremental() {
        var crc = CRC32C()
        crc.update(ByteBuffer(string: "1234"))
        crc.update(ByteBuffer(string: "56789"))
        #expect(crc.value == 0xE306_9283)
    }

    // MARK: murmur2

    /// From the Java client's `UtilsTest.testMurmur2`, and (the digit strings) values of `Utils.murmur2` quoted by
    /// other ports; all are the Java `int` results.
    static let murmurVectors: [(String, Int32)] = [
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
        ("1", -1_993_445_489),
        ("12", 126_087_238),
        ("123", -267_702_483),
        ("1234", -1_614_185_708),
        ("12345", -1_188_365_604),
    ]

    @Test(arguments: Self.murmurVectors)
    func murmur2MatchesTheJavaClient(key: String, expected: Int32) {
        #expect(Murmur2.hash(Array(key.utf8)) == expected)
    }

    @Test func partitionMasksTheSignBitThenTakesTheRemainder() throws {
        // murmur2("21") is negative: masking gives 1173551340, and 1173551340 % 7 == 3.
        #expect(try KafkaPartitioner.partition(forKey: Array("21".utf8), partitionCount: 7) == (-973_932_308 & 0x7fff_ffff) % 7)
        #expect(try KafkaPartitioner.partition(forKey: Array("21".utf8), partitionCount: 7) == 3)
        #expect(try KafkaPartitioner.partition(forKey: Array("abc".utf8), partitionCount: 1) == 0)
        for partitions in Int32(1)...12 {
            let partition = try KafkaPartitioner.partition(forKey: Array("foobar".utf8), partitionCount: partitions)
            #expect((0..<partitions).contains(partition))
        }
        let error = #expect(throws: KafkaError.self) { try KafkaPartitioner.partition(forKey: [1], partitionCount: 0) }
        #expect(error?.code == .invalidArgument)
    }
}
