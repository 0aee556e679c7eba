import CouponCore
import Foundation
import JWTKit

/// Verifies the bearer tokens of `--auth jwt`: the signature with a configured key (HS256
/// secret, or an RS256 / ES256 public key), `exp`, and `iss`; the user is `sub`.
///
/// The token's `alg` picks the key: a token signed with an algorithm no configured key has
/// (`none` included, or HS256 against a public key) is refused.
public struct UserTokenVerifier: Sendable {
    private let keys: JWTKeyCollection
    public let issuer: String

    /// - Parameters:
    ///   - issuer: the `iss` every token must carry.
    ///   - hs256Secret: a shared secret (at least 32 bytes), or nil.
    ///   - publicKeyPEM: an RSA (RS256) or EC P-256 (ES256) public key in PEM, or nil.
    /// - Throws: ``UserTokenError`` naming what is wrong with the configuration.
    public static func make(issuer: String, hs256Secret: String?, publicKeyPEM: String?) async throws(UserTokenError) -> UserTokenVerifier {
        guard !issuer.isEmpty else { throw UserTokenError("the JWT issuer is empty") }
        guard hs256Secret != nil || publicKeyPEM != nil else {
            throw UserTokenError("--auth jwt needs a key: --jwt-hs256-secret or --jwt-public-key")
        }
        let keys = JWTKeyCollection()
        if let secret = hs256Secret {
            guard secret.utf8.count >= 32 else {
                throw UserTokenError("the HS256 secret has \(secret.utf8.count) bytes; use at least 32")
            }
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        }
        if let pem = publicKeyPEM {
            if let rsa = try? Insecure.RSA.PublicKey(pem: pem) {
                await keys.add(rsa: rsa, digestAlgorithm: .sha256)
            } else if let ec = try? ES256PublicKey(pem: pem) {
                await keys.add(ecdsa: ec)
            } else {
                throw UserTokenError("the public key is neither an RSA nor an EC P-256 public key in PEM")
            }
        }
        return UserTokenVerifier(keys: keys, issuer: issuer)
    }

    /// The user of an `Authorization` header's bearer token.
    /// - Throws: ``UserTokenError`` saying why the token is refused.
    public func user(authorization: String?) async throws(UserTokenError) -> UserID {
        guard let authorization else {
            throw UserTokenError("applies need 'Authorization: Bearer <token>' (--auth jwt)")
        }
        let prefix = "bearer "
        guard authorization.count > prefix.count, authorization.prefix(prefix.count).lowercased() == prefix else {
            throw UserTokenError("the Authorization header must use the Bearer scheme")
        }
        let token = String(authorization.dropFirst(prefix.count))
        let claims: UserClaims
        do {
            claims = try await self.keys.verify(token, as: UserClaims.self)
        } catch let error as JWTError {
            throw UserTokenError(Self.describe(error))
        } catch {
            throw UserTokenError("the token cannot be read")
        }
        guard claims.iss.value == self.issuer else {
            throw UserTokenError("the token's issuer is not the one this service trusts")
        }
        do {
            return try UserID(parsing: claims.sub.value)
        } catch {
            throw UserTokenError("the token's sub is not a user id (a decimal integer from 1 to \(Int64.max))")
        }
    }

    private static func describe(_ error: JWTError) -> String {
        switch error.errorType {
        case .signatureVerificationFailed: "the token's signature does not verify"
        case .claimVerificationFailure: "the token has expired"
        case .malformedToken: "the token is malformed or lacks a required claim (sub, exp, iss)"
        case .unsupportedAlgorithm, .unknownKID, .missingKIDHeader, .noKeyProvided:
            "the token's algorithm or key is not one this service accepts"
        default: "the token is not valid"
        }
    }
}

/// Why a token (or the JWT configuration) was refused, in words fit for a client.
public struct UserTokenError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The claims a user token must carry.
struct UserClaims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var iss: IssuerClaim

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try self.exp.verifyNotExpired()
    }
}
