import CouponCore
import CryptoExtras
import Foundation
import HTTPTypes
import HummingbirdTesting
import JWTKit
import Logging
import NIOCore
import Testing

@testable import CouponServer

/// `--auth jwt`: the user is a verified token's `sub`; everything else is refused with 401.
@Suite struct JWTAuthTests {
    static let issuer = "https://login.example.test"
    static let secret = "an-hs256-secret-of-at-least-32-bytes!"

    struct Claims: JWTPayload {
        var sub: SubjectClaim?
        var exp: ExpirationClaim
        var iss: IssuerClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    static func claims(sub: String? = "42", expiresIn: TimeInterval = 3600, issuer: String = issuer) -> Claims {
        Claims(
            sub: sub.map { SubjectClaim(value: $0) },
            exp: ExpirationClaim(value: Date().addingTimeInterval(expiresIn)),
            iss: IssuerClaim(value: issuer)
        )
    }

    static func hs256(_ claims: Claims, secret: String = secret) async throws -> String {
        try await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256).sign(claims)
    }

    /// Runs a server in `--auth jwt` mode with `settings`.
    static func withJWTApp(_ settings: JWTSettings, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await TestSupport.withDirectory { directory in
            var configuration = TestSupport.configuration(directory: directory)
            configuration.authentication = .jwt(settings)
            let app = try await buildApplication(configuration, logger: Logger(label: "test"))
            try await app.test(.router) { client in try await body(client) }
        }
    }

    static func apply(_ client: any TestClientProtocol, token: String?, query: String = "") async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.execute(uri: "/coupon/apply\(query)", method: .post, headers: headers)
    }

    @Test func aValidHS256TokenAppliesAsItsSubAndUserIdIsRefused() async throws {
        let token = try await Self.hs256(Self.claims())
        try await Self.withJWTApp(JWTSettings(issuer: Self.issuer, hs256Secret: Self.secret)) { client in
            let won = try await Self.apply(client, token: token)
            #expect(won.status == .ok)
            #expect(try won.json["userId"] as? Int == 42)
            #expect(try await Self.apply(client, token: token).status == .conflict, "the same sub again: 409")
            let withUserId = try await Self.apply(client, token: token, query: "?userId=7")
            try withUserId.expectProblem(.badRequest, kind: "invalid-user-id")
            let missing = try await Self.apply(client, token: nil)
            try missing.expectProblem(.unauthorized, kind: "invalid-token")
            #expect(missing.headers[.wwwAuthenticate] == #"Bearer error="invalid_token""#)
            // A user reads their own coupons only.
            let own = try await client.execute(uri: "/users/42/coupons", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(own.status == .ok)
            let other = try await client.execute(uri: "/users/43/coupons", method: .get, headers: [.authorization: "Bearer \(token)"])
            try other.expectProblem(.forbidden, kind: "forbidden")
        }
    }

    @Test func refusedTokensAre401NamingWhy() async throws {
        let header = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URLEncodedString()
        let payload = Data(#"{"sub":"42","iss":"\#(Self.issuer)","exp":9999999999}"#.utf8).base64URLEncodedString()
        let cases: [(String, String)] = [
            (try await Self.hs256(Self.claims(), secret: "another-secret-of-at-least-32-bytes!!"), "signature"),
            (try await Self.hs256(Self.claims(expiresIn: -60)), "expired"),
            (try await Self.hs256(Self.claims(issuer: "https://evil.example.test")), "issuer"),
            (try await Self.hs256(Self.claims(sub: nil)), "claim"),
            (try await Self.hs256(Self.claims(sub: "not-a-number")), "sub"),
            // alg "none": no configured key signs with it, so nothing verifies it.
            ("\(header).\(payload).", "signature"),
            ("not.a.token", "malformed"),
        ]
        try await Self.withJWTApp(JWTSettings(issuer: Self.issuer, hs256Secret: Self.secret)) { client in
            for (token, reason) in cases {
                let response = try await Self.apply(client, token: token)
                try response.expectProblem(.unauthorized, kind: "invalid-token")
                let detail = try response.json["detail"] as? String ?? ""
                #expect(detail.contains(reason), "\(reason): \(detail)")
            }
        }
    }

    @Test func rs256AndES256PublicKeysVerifyTheirTokensAndRefuseAnHS256One() async throws {
        let rsa = try Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let ec = ES256PrivateKey()
        let cases: [(publicPEM: String, sign: @Sendable (Claims) async throws -> String)] = [
            (rsa.publicKey.pemRepresentation, { try await JWTKeyCollection().add(rsa: rsa, digestAlgorithm: .sha256).sign($0) }),
            (ec.publicKey.pemRepresentation, { try await JWTKeyCollection().add(ecdsa: ec).sign($0) }),
        ]
        for (pem, sign) in cases {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-\(UUID().uuidString).pem")
            try pem.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let token = try await sign(Self.claims(sub: "7"))
            // HS256 "signed" with the public key's text: the classic algorithm-confusion attack.
            let confused = try await Self.hs256(Self.claims(sub: "8"), secret: pem)
            try await Self.withJWTApp(JWTSettings(issuer: Self.issuer, publicKeyPath: file.path)) { client in
                let won = try await Self.apply(client, token: token)
                #expect(won.status == .ok, "\(String(buffer: won.body))")
                try await Self.apply(client, token: confused).expectProblem(.unauthorized, kind: "invalid-token")
            }
        }
    }

    @Test func badJWTConfigurationsAreOneLineErrors() async throws {
        typealias Flags = ServerConfiguration.Flags
        #expect(throws: SettingError.self) { try ServerConfiguration(flags: Flags(auth: "jwt", jwtHS256Secret: Self.secret), environment: [:]) }
        #expect(throws: SettingError.self) { try ServerConfiguration(flags: Flags(auth: "jwt", jwtIssuer: Self.issuer), environment: [:]) }
        #expect(throws: SettingError.self) {
            try ServerConfiguration(flags: Flags(auth: "jwt", jwtIssuer: Self.issuer, jwtHS256Secret: "short"), environment: [:])
        }
        #expect(throws: SettingError.self) { try ServerConfiguration(flags: Flags(jwtIssuer: Self.issuer), environment: [:]) }
        #expect(throws: SettingError.self) { try ServerConfiguration(flags: Flags(auth: "oauth"), environment: [:]) }
        let ok = try ServerConfiguration(flags: Flags(auth: "jwt", jwtIssuer: Self.issuer, jwtHS256Secret: Self.secret), environment: [:])
        #expect(ok.authentication == .jwt(JWTSettings(issuer: Self.issuer, hs256Secret: Self.secret)))
        #expect(try ServerConfiguration(flags: Flags(), environment: [:]).authentication == .queryParameter)
        // A key file that is not a key fails the start with a message naming the problem.
        await #expect(throws: StartupError.self) {
            try await TestSupport.withDirectory { directory in
                var configuration = TestSupport.configuration(directory: directory)
                configuration.authentication = .jwt(JWTSettings(issuer: Self.issuer, publicKeyPath: "/nonexistent/key.pem"))
                _ = try await buildApplication(configuration, logger: Logger(label: "test"))
            }
        }
    }
}

extension Data {
    fileprivate func base64URLEncodedString() -> String {
        self.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
