/// The 32-bit murmur2 hash exactly as the Java client computes it (`org.apache.kafka.common.utils.Utils.murmur2`),
/// so that a key lands on the same partition whichever client produced it.
enum Murmur2 {
    private static let seed: UInt32 = 0x9747_b28c
    private static let m: UInt32 = 0x5bd1_e995
    private static let r: UInt32 = 24

    /// The hash as the Java client's signed `int`.
    static func hash(_ data: some Collection<UInt8>) -> Int32 {
        let bytes = Array(data)
        let length = bytes.count
        // Java's `seed ^ length` on ints: the length's low 32 bits.
        var h = seed ^ UInt32(truncatingIfNeeded: length)
        let wordCount = length / 4
        for word in 0..<wordCount {
            let offset = word * 4
            var k =
                UInt32(bytes[offset])
                | UInt32(bytes[offset + 1]) << 8
                | UInt32(bytes[offset + 2]) << 16
                | UInt32(bytes[offset + 3]) << 24
            k = k &* m
            k ^= k >> r
            k = k &* m
            h = h &* m
            h ^= k
        }
        // The tail: the Java switch falls through from case 3 to case 1.
        let tail = wordCount * 4
        let remaining = length - tail
        if remaining >= 3 {
            h ^= UInt32(bytes[tail + 2]) << 16
        }
        if remaining >= 2 {
            h ^= UInt32(bytes[tail + 1]) << 8
        }
        if remaining >= 1 {
            h ^= UInt32(bytes[tail])
            h = h &* m
        }
        h ^= h >> 13
        h = h &* m
        h ^= h >> 15
        return Int32(bitPattern: h)
    }
}
