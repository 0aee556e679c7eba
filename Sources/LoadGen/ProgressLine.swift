#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The live progress line: rewritten in place on a terminal, a plain line every few seconds
/// otherwise (CI logs, pipes).
public struct ProgressLine: Sendable {
    public let isTerminal: Bool
    let plainEvery: Int

    public init(isTerminal: Bool = isatty(STDERR_FILENO) == 1, plainEvery: Int = 5) {
        self.isTerminal = isTerminal
        self.plainEvery = plainEvery
    }

    /// The text for second `elapsed` of `phase`.
    public static func text(phase: String, elapsed: Int, total: Int, snapshot: LoadSnapshot) -> String {
        let rate = snapshot.second?.status.total ?? 0
        let p99 = snapshot.second?.latency.milliseconds(atPercentile: 99).map { Report.milliseconds($0) } ?? "-"
        return "\(phase) \(elapsed)/\(total)s  VUs \(snapshot.vus)  \(rate) req/s  p99 \(p99) ms  "
            + "answered \(snapshot.answered)  errors \(snapshot.errors)"
    }

    public func show(_ text: String, elapsed: Int) {
        if isTerminal {
            emit("\r\u{1B}[K" + text)
        } else if elapsed % plainEvery == 0 {
            emit(text + "\n")
        }
    }

    public func finish() {
        if isTerminal { emit("\r\u{1B}[K") }
    }

    private func emit(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            #if canImport(Glibc)
            _ = Glibc.write(STDERR_FILENO, bytes.baseAddress, bytes.count)
            #else
            _ = Darwin.write(STDERR_FILENO, bytes.baseAddress, bytes.count)
            #endif
        }
    }
}
