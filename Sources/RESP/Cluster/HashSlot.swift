import NIOCore

/// One of Redis Cluster's 16,384 hash slots: the part of the key space a key belongs to.
///
/// A key's slot is `CRC16(key) mod 16384` (CRC16/XMODEM, as in the cluster specification). When the key
/// holds a hash tag, the first `{…}` with a non-empty body, only the body is hashed, so keys that share a
/// tag share a slot: `{c:42}:meta` and `{c:42}:issued` go to the same node and may be used in one script.
public struct HashSlot: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The number of slots in a cluster.
    public static let count = 16384

    /// The slot number, `0..<16384`.
    public let rawValue: UInt16

    /// - Returns: nil when `rawValue` is not below 16384.
    public init?(rawValue: UInt16) {
        guard Int(rawValue) < Self.count else { return nil }
        self.rawValue = rawValue
    }

    /// The slot of a key given as bytes.
    public init(key: some Collection<UInt8>) {
        // 16384 is a power of two, so the modulo is a mask.
        self.rawValue = Self.crc16(Self.hashedPart(of: key)) & UInt16(Self.count - 1)
    }

    /// The slot of a key given as text (its UTF-8 bytes are hashed).
    public init(key: String) {
        self.init(key: key.utf8)
    }

    /// The slot of a key given as a command argument (an integer is hashed as its decimal text, as Redis sees it).
    public init(key: RESPArgument) {
        switch key {
        case .string(let string): self.init(key: string)
        case .bytes(let bytes): self.init(key: bytes.readableBytesView)
        case .int(let integer): self.init(key: String(integer))
        }
    }

    public static func < (lhs: HashSlot, rhs: HashSlot) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String {
        String(self.rawValue)
    }

    // MARK: Hashing

    /// The bytes that decide the slot: the body of the first `{…}` when it is not empty, else the whole key.
    ///
    /// Only the first `{` counts, and the first `}` after it closes the tag: `foo{{bar}}zap` hashes `{bar`,
    /// `foo{}{bar}` hashes the whole key (the first tag is empty), `foo{bar}{zap}` hashes `bar`.
    static func hashedPart<Key: Collection<UInt8>>(of key: Key) -> Key.SubSequence {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")) else {
            return key[...]
        }
        let afterOpen = key.index(after: open)
        guard let close = key[afterOpen...].firstIndex(of: UInt8(ascii: "}")), close != afterOpen else {
            return key[...]
        }
        return key[afterOpen..<close]
    }

    /// CRC16/XMODEM (polynomial 0x1021, initial value 0, no reflection), the checksum the cluster uses.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ Self.crcTable[Int((crc >> 8) ^ UInt16(byte))]
        }
        return crc
    }

    /// The CRC of every byte value, so hashing takes one lookup per byte instead of eight shifts.
    private static let crcTable: [UInt16] = (0...255).map { (value: Int) -> UInt16 in
        var crc = UInt16(value) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
