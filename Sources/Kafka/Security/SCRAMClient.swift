import Crypto
import Foundation

/// The client side of SCRAM (RFC 5802; SHA-256 per RFC 7677, SHA-512 alike), without channel binding,
/// as Kafka uses it.
///
/// A plain value with no sockets: `firstMessage()`, then `finalMessage(serverFirst:)`, then
/// `verify(serverFinal:)`; each throws `KafkaError(.authenticationFailed)` when the server's message
/// is wrong. The connection carries the messages in SaslAuthenticate requests.
struct SCRAMClient {
    enum Hash: Sendable {
        case sha256
        case sha512
    }

    /// Kafka's minimum (ScramMechanism.minIterations): fewer makes the stored key cheap to attack.
    static let minimumIterations = 4096

    private enum State {
        case initial
        case sentFirst
        case sentFinal(serverSignature: [UInt8])
        case done
    }

    private let hash: Hash
    private let mechanismName: String
    private let username: String
    private let password: String
    private let clientNonce: String
    private var state = State.initial

    /// - Parameter nonce: the client nonce; random when nil (tests pass the RFC's).
    init(hash: Hash, username: String, password: String, nonce: String? = nil) {
        self.hash = hash
        self.mechanismName = hash == .sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512"
        self.username = username
        self.password = password
        self.clientNonce = nonce ?? Self.randomNonce()
    }

    private var clientFirstBare: String {
        "n=\(Self.escape(self.username)),r=\(self.clientNonce)"
    }

    /// client-first-message: no channel binding ("n,,"), the escaped user name and our nonce.
    mutating func firstMessage() -> [UInt8] {
        self.state = .sentFirst
        return Array("n,,\(self.clientFirstBare)".utf8)
    }

    /// Parses server-first-message (r, s, i) and answers client-final-message with the proof.
    mutating func finalMessage(serverFirst: [UInt8]) throws -> [UInt8] {
        guard case .sentFirst = self.state else { throw self.failure("the exchange is out of order") }
        guard let serverFirstText = String(bytes: serverFirst, encoding: .utf8) else {
            throw self.failure("the server's first message is not UTF-8")
        }
        let attributes = try self.attributes(serverFirstText)
        guard let nonce = attributes["r"], let saltText = attributes["s"], let iterationText = attributes["i"] else {
            throw self.failure("the server's first message lacks r, s or i: \(serverFirstText)")
        }
        guard nonce.hasPrefix(self.clientNonce), nonce.count > self.clientNonce.count else {
            throw self.failure("the server's nonce does not extend ours")
        }
        guard let salt = Data(base64Encoded: saltText), !salt.isEmpty else {
            throw self.failure("the server's salt is not base64")
        }
        guard let iterations = Int(iterationText), iterations >= Self.minimumIterations else {
            throw self.failure("the server asks for \(iterationText) iterations, fewer than \(Self.minimumIterations)")
        }
        let saltedPassword = self.pbkdf2(password: Array(self.password.utf8), salt: Array(salt), iterations: iterations)
        let clientKey = self.hmac(key: saltedPassword, Array("Client Key".utf8))
        let storedKey = self.digest(clientKey)
        // "biws" is base64("n,,"): no channel binding.
        let clientFinalWithoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(self.clientFirstBare),\(serverFirstText),\(clientFinalWithoutProof)".utf8)
        let clientSignature = self.hmac(key: storedKey, authMessage)
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = self.hmac(key: saltedPassword, Array("Server Key".utf8))
        self.state = .sentFinal(serverSignature: self.hmac(key: serverKey, authMessage))
        return Array("\(clientFinalWithoutProof),p=\(Data(proof).base64EncodedString())".utf8)
    }

    /// Checks server-final-message: its signature proves the server knows the password too.
    mutating func verify(serverFinal: [UInt8]) throws {
        guard case .sentFinal(let expected) = self.state else { throw self.failure("the exchange is out of order") }
        guard let text = String(bytes: serverFinal, encoding: .utf8) else {
            throw self.failure("the server's final message is not UTF-8")
        }
        let attributes = try self.attributes(text)
        if let error = attributes["e"] {
            throw self.failure("the broker refused: \(error)")
        }
        guard let signature = attributes["v"].flatMap({ Data(base64Encoded: $0) }) else {
            throw self.failure("the server's final message has no signature: \(text)")
        }
        guard Array(signature) == expected else {
            throw self.failure("the server's signature does not match (the broker does not know the password)")
        }
        self.state = .done
    }

    // MARK: Parts

    /// "a=1,b=2" → [a: 1, b: 2]; values may contain "=".
    private func attributes(_ message: String) throws -> [Character: String] {
        var result: [Character: String] = [:]
        for part in message.split(separator: ",", omittingEmptySubsequences: false) {
            guard part.count >= 2, let key = part.first, part.dropFirst().first == "=" else {
                throw self.failure("malformed attribute '\(part)' in \(message)")
            }
            result[key] = String(part.dropFirst(2))
        }
        return result
    }

    private func failure(_ problem: String) -> KafkaError {
        KafkaError(.authenticationFailed, message: "\(self.mechanismName) authentication of '\(self.username)' failed: \(problem)")
    }

    /// RFC 5802's saslname: "," and "=" would end the attribute, so they are escaped.
    static func escape(_ name: String) -> String {
        name.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
    }

    private static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // Base64 has no ",", so the nonce is a valid attribute value.
        return Data(bytes).base64EncodedString()
    }

    /// Hi() of RFC 5802: PBKDF2 with HMAC, one block as long as the hash.
    private func pbkdf2(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        var block = self.hmac(key: password, salt + [0, 0, 0, 1])
        var result = block
        for _ in 1..<iterations {
            block = self.hmac(key: password, block)
            for index in result.indices { result[index] ^= block[index] }
        }
        return result
    }

    private func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch self.hash {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: message, using: key))
        }
    }

    private func digest(_ data: [UInt8]) -> [UInt8] {
        switch self.hash {
        case .sha256: return Array(SHA256.hash(data: data))
        case .sha512: return Array(SHA512.hash(data: data))
        }
    }
}
