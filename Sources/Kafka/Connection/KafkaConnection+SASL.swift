extension KafkaConnection {
    /// SaslHandshake v1, then the mechanism's SaslAuthenticate exchange; the connection is then usable.
    ///
    /// - Throws: `KafkaError(.authenticationFailed)` naming the mechanism, the user and the broker's reason.
    func authenticate(_ sasl: KafkaSASL, broker: String) async throws {
        let what = "\(sasl.mechanism) authentication of '\(sasl.username)' with the broker at \(broker)"
        let handshake: SaslHandshakeResponse
        do {
            handshake = try await self.send(SaslHandshakeRequest(mechanism: sasl.mechanism.name))
        } catch let error as KafkaError where error.code == .connectionClosed {
            // Some brokers (tansu 0.6) hang up instead of answering UNSUPPORTED_SASL_MECHANISM.
            throw KafkaError(
                .authenticationFailed,
                message: "\(what) failed: the broker closed the connection on SaslHandshake (it may not offer \(sasl.mechanism))"
            )
        }
        guard !handshake.errorCode.isError else {
            throw KafkaError(
                .authenticationFailed,
                message: "\(what) failed: \(handshake.errorCode); the broker offers \(handshake.mechanisms.joined(separator: ", "))",
                brokerCode: handshake.errorCode
            )
        }
        switch sasl.mechanism {
        case .plain:
            // RFC 4616: authzid (empty), NUL, authcid, NUL, password.
            let message = [0] + Array(sasl.username.utf8) + [0] + Array(sasl.password.utf8)
            _ = try await self.saslAuthenticate(message, what: what)
        default:
            var scram = SCRAMClient(
                hash: sasl.mechanism == .scramSHA512 ? .sha512 : .sha256,
                username: sasl.username,
                password: sasl.password
            )
            let serverFirst = try await self.saslAuthenticate(scram.firstMessage(), what: what)
            let serverFinal = try await self.saslAuthenticate(try scram.finalMessage(serverFirst: serverFirst), what: what)
            do {
                try scram.verify(serverFinal: serverFinal)
            } catch let error as KafkaError {
                throw KafkaError(.authenticationFailed, message: "\(error.message) (broker \(broker))")
            }
        }
    }

    private func saslAuthenticate(_ token: [UInt8], what: String) async throws -> [UInt8] {
        let response = try await self.send(SaslAuthenticateRequest(authBytes: token))
        guard !response.errorCode.isError else {
            throw KafkaError(
                .authenticationFailed,
                message: "\(what) failed: \(response.errorCode)\(response.errorMessage.map { ": \($0)" } ?? "")",
                brokerCode: response.errorCode
            )
        }
        return response.authBytes
    }
}
