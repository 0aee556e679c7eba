import NIOCore
import NIOPosix

/// Bytes to a live server and whatever comes back until it closes the connection (or `timeout`):
/// for what a test client hides, pipelined requests and the exact bytes of an answer.
enum RawHTTP {
    static func exchange(port: Int, _ request: String, timeout: Duration = .seconds(10)) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    try await outbound.write(ByteBuffer(string: request))
                    var received = ""
                    for try await buffer in inbound {
                        received += String(buffer: buffer)
                    }
                    return received
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let received = try await group.next() ?? nil else {
                channel.channel.close(promise: nil)
                throw TimedOut()
            }
            return received
        }
    }

    struct TimedOut: Error {}

    /// The status codes of the answers in `received`, in order.
    static func statuses(_ received: String) -> [Int] {
        received.split(separator: "HTTP/1.1 ", omittingEmptySubsequences: true).compactMap { Int($0.prefix(3)) }
    }

    /// `received` with the values of `Date` and `X-Request-Id` blanked: what may differ between two answers.
    static func normalized(_ received: String) -> String {
        received.split(separator: "\r\n", omittingEmptySubsequences: false).map { line in
            if line.hasPrefix("Date: ") { return "Date: -" }
            if line.hasPrefix("X-Request-Id: ") { return "X-Request-Id: -" }
            return String(line)
        }.joined(separator: "\r\n")
    }
}
