import Testing

@testable import Kafka

/// The SCRAM exchange without a broker: RFC 7677's SCRAM-SHA-256 example, then servers that misbehave.
struct SCRAMClientTests {
    private static let serverFirst =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"

    private func client() -> SCRAMClient {
        SCRAMClient(hash: .sha256, username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO")
    }

    @Test func rfc7677Example() throws {
        var scram = self.client()
        #expect(String(decoding: scram.firstMessage(), as: UTF8.self) == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO")
        let final = try scram.finalMessage(serverFirst: Array(Self.serverFirst.utf8))
        #expect(
            String(decoding: final, as: UTF8.self)
                == "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        )
        try scram.verify(serverFinal: Array("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))
    }

    @Test func aWrongServerSignatureFails() throws {
        var scram = self.client()
        _ = scram.firstMessage()
        _ = try scram.finalMessage(serverFirst: Array(Self.serverFirst.utf8))
        let error = #expect(throws: KafkaError.self) {
            try scram.verify(serverFinal: Array("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=".utf8))
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains("signature does not match") == true)
        #expect(error?.isRetriable == false)
    }

    @Test func aServerErrorIsReported() throws {
        var scram = self.client()
        _ = scram.firstMessage()
        _ = try scram.finalMessage(serverFirst: Array(Self.serverFirst.utf8))
        let error = #expect(throws: KafkaError.self) { try scram.verify(serverFinal: Array("e=invalid-proof".utf8)) }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains("SCRAM-SHA-256") == true)
        #expect(error?.message.contains("invalid-proof") == true)
    }

    @Test func aServerNonceThatDoesNotExtendOursFails() {
        var scram = self.client()
        _ = scram.firstMessage()
        let error = #expect(throws: KafkaError.self) {
            try scram.finalMessage(serverFirst: Array("r=somethingElse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".utf8))
        }
        #expect(error?.message.contains("nonce") == true)
    }

    @Test func tooFewIterationsOrMissingAttributesFail() {
        var scram = self.client()
        _ = scram.firstMessage()
        #expect(throws: KafkaError.self) {
            try scram.finalMessage(serverFirst: Array("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1024".utf8))
        }
        #expect(throws: KafkaError.self) { try scram.finalMessage(serverFirst: Array("r=rOprNGfwEbeRWgbNEkqOx,i=4096".utf8)) }
        #expect(throws: KafkaError.self) { try scram.finalMessage(serverFirst: Array("garbage".utf8)) }
    }

    @Test func verifyBeforeTheProofIsOutOfOrder() {
        var scram = self.client()
        #expect(throws: KafkaError.self) { try scram.verify(serverFinal: Array("v=abc".utf8)) }
    }

    @Test func usernamesAreEscaped() {
        #expect(SCRAMClient.escape("a,b=c") == "a=2Cb=3Dc")
        var scram = SCRAMClient(hash: .sha512, username: "a,b", password: "p", nonce: "n")
        #expect(String(decoding: scram.firstMessage(), as: UTF8.self) == "n,,n=a=2Cb,r=n")
    }

    @Test func randomNoncesDiffer() {
        var first = SCRAMClient(hash: .sha256, username: "u", password: "p")
        var second = SCRAMClient(hash: .sha256, username: "u", password: "p")
        #expect(first.firstMessage() != second.firstMessage())
    }
}
