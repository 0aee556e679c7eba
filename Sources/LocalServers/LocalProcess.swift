import Foundation

/// One process of a throwaway server (or of CouponGate), our child, its output appended to `logFile`.
/// `stop()` ends it with SIGTERM, then SIGKILL after a grace period, and reaps it.
public final class LocalProcess: Sendable {
    /// What the process is, e.g. "redis-server" or "serve 1", for reports.
    public let name: String
    public let logFile: URL
    /// What `stop()` sends first: the server's fast, clean shutdown.
    public let stopSignal: Int32
    private let process: Process

    private init(name: String, logFile: URL, stopSignal: Int32, process: Process) {
        self.name = name
        self.logFile = logFile
        self.stopSignal = stopSignal
        self.process = process
    }

    /// Starts `executable` with `arguments` (as `user`, by runuser, when given and this process is root),
    /// stdin from /dev/null, stdout and stderr appended to `logFile`.
    public static func start(
        name: String,
        executable: String,
        arguments: [String],
        logFile: URL,
        user: String? = nil,
        environment: [String: String]? = nil,
        stopSignal: Int32 = SIGTERM
    ) throws -> LocalProcess {
        if !FileManager.default.fileExists(atPath: logFile.path) {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logFile)
        log.seekToEndOfFile()
        let process = Process()
        let (program, fullArguments) = Self.command(executable, arguments, user: user)
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = fullArguments
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try log.close()
        return LocalProcess(name: name, logFile: logFile, stopSignal: stopSignal, process: process)
    }

    /// `executable arguments`, or `runuser -u user -- executable arguments` when root must hand the
    /// server to another user (PostgreSQL refuses to run as root).
    static func command(_ executable: String, _ arguments: [String], user: String?) -> (String, [String]) {
        guard let user, getuid() == 0 else { return (executable, arguments) }
        let runuser = (try? LocalExecutable.find(["runuser"], package: "util-linux")) ?? "/usr/sbin/runuser"
        return (runuser, ["-u", user, "--", executable] + arguments)
    }

    public var pid: Int32 { self.process.processIdentifier }
    public var isRunning: Bool { self.process.isRunning }

    /// CPU seconds (user + system) of this process and every descendant alive now (PostgreSQL's backends,
    /// a runuser's server), from /proc.
    public var cpuSeconds: Double { ProcessCPU.ofTree(rootedAt: self.pid) }

    /// The last `lines` lines of the log, for an error message.
    public func logTail(lines: Int = 20) -> String {
        let text = (try? String(contentsOf: self.logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Sends `signal` to the process (a no-op once it has exited).
    public func signal(_ signal: Int32) {
        if self.process.isRunning { kill(self.pid, signal) }
    }

    /// `signal` (default ``stopSignal``), then SIGKILL after `grace`; returns once the process has exited.
    public func stop(signal: Int32? = nil, grace: Duration = .seconds(30)) async {
        guard self.process.isRunning else { return }
        // The server itself, not only runuser: runuser forwards SIGTERM, but a SIGKILL would orphan it.
        let tree = ProcessCPU.descendants(of: self.pid)
        kill(self.pid, signal ?? self.stopSignal)
        let deadline = ContinuousClock.now + grace
        while self.process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if self.process.isRunning {
            for pid in [self.pid] + tree { kill(pid, SIGKILL) }
            while self.process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// Waits until `ready` returns true, polling; fails at once, with the log's end, if the process exits.
    public func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ ready: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if await ready() { return }
            guard self.process.isRunning else {
                throw LocalServerError("\(self.name) exited (status \(self.process.terminationStatus)) before \(what):\n\(self.logTail())")
            }
            guard ContinuousClock.now < deadline else {
                throw LocalServerError("\(self.name) did not get \(what) within \(timeout):\n\(self.logTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// CPU time from /proc: fields 14 and 15 of /proc/PID/stat (utime, stime, in clock ticks).
public enum ProcessCPU {
    public static func of(_ pid: Int32) -> Double? {
        guard let fields = self.statFields(pid), fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            return nil
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// This process and its live descendants.
    public static func ofTree(rootedAt pid: Int32) -> Double {
        ([pid] + self.descendants(of: pid)).compactMap(self.of).reduce(0, +)
    }

    /// Every live descendant of `pid`, from the parent ids in /proc.
    static func descendants(of pid: Int32) -> [Int32] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        var children: [Int32: [Int32]] = [:]
        for entry in entries {
            guard let child = Int32(entry), let fields = self.statFields(child), fields.count > 1, let parent = Int32(fields[1]) else { continue }
            children[parent, default: []].append(child)
        }
        var found: [Int32] = []
        var queue = children[pid] ?? []
        while let next = queue.popLast() {
            found.append(next)
            queue += children[next] ?? []
        }
        return found
    }

    /// The fields after "pid (comm)": state is [0], the parent id [1], utime [11], stime [12].
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return nil
        }
        return stat[stat.index(after: close)...].split(separator: " ")
    }
}
