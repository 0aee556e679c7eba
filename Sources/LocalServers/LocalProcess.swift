import Foundation
import Synchronization

/// One process of a throwaway server (or of CouponGate), our child, its output appended to `logFile`.
/// `stop()` ends it with SIGTERM, then SIGKILL after a grace period, and reaps it.
///
/// Spawned with posix_spawn rather than Foundation's `Process`, to give the child a clean signal state:
/// the spawning thread may block signals (event-loop and pool threads do) and this process may ignore
/// SIGINT and SIGTERM (it traps them), and a child inherits both — a redis-server spawned so never
/// sees the SIGTERM meant to stop it. The child also gets a process group of its own, so a Ctrl-C at
/// the terminal reaches only us, and we stop the children in order.
public final class LocalProcess: Sendable {
    /// What the process is, e.g. "redis-server" or "serve 1", for reports.
    public let name: String
    public let logFile: URL
    /// What `stop()` sends first: the server's fast, clean shutdown.
    public let stopSignal: Int32
    public let pid: Int32
    /// The wait status once reaped.
    private let exitStatus = Mutex<Int32?>(nil)

    private init(name: String, logFile: URL, stopSignal: Int32, pid: Int32) {
        self.name = name
        self.logFile = logFile
        self.stopSignal = stopSignal
        self.pid = pid
    }

    /// Starts `executable` with `arguments` (as `user`, by setpriv, when given and this process is root)
    /// in `/`, stdin from /dev/null, stdout and stderr appended to `logFile`, with `environment` (default:
    /// this process's).
    public static func start(
        name: String,
        executable: String,
        arguments: [String],
        logFile: URL,
        user: String? = nil,
        environment: [String: String]? = nil,
        stopSignal: Int32 = SIGTERM
    ) throws(LocalServerError) -> LocalProcess {
        let (program, programArguments) = Self.command(executable, arguments, user: user)
        // posix_spawn cannot change the directory: a shell does, then becomes the program.
        let argv = ["/bin/sh", "-c", "cd / && exec \"$0\" \"$@\"", program] + programArguments
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var everySignal = sigset_t()
        sigfillset(&everySignal)
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var pid: pid_t = 0
        let result = Self.withCStrings(argv) { cArguments in
            Self.withCStrings(env) { cEnvironment in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes, cArguments, cEnvironment)
            }
        }
        guard result == 0 else {
            throw LocalServerError("could not start \(name) (\(program)): \(String(cString: strerror(result)))")
        }
        return LocalProcess(name: name, logFile: logFile, stopSignal: stopSignal, pid: pid)
    }

    /// `body` with `strings` as a NULL-terminated array of C strings.
    private static func withCStrings<T>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> T) -> T {
        let pointers = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }

    /// `executable arguments`, or `setpriv … -- executable arguments` when root must hand the server to
    /// another user (PostgreSQL refuses to run as root). setpriv execs the program in its place, unlike
    /// runuser, which stays as the parent and turns every signal into a SIGTERM (PostgreSQL's slow,
    /// client-waiting shutdown): our pid is the server's, and its stop signal reaches it unchanged.
    static func command(_ executable: String, _ arguments: [String], user: String?) -> (String, [String]) {
        guard let user, getuid() == 0 else { return (executable, arguments) }
        let setpriv = (try? LocalExecutable.find(["setpriv"], package: "util-linux")) ?? "/usr/bin/setpriv"
        return (setpriv, ["--reuid=\(user)", "--regid=\(user)", "--init-groups", "--", executable] + arguments)
    }

    /// Whether the process has not exited yet (it is reaped here once it has).
    public var isRunning: Bool {
        self.exitStatus.withLock { status in
            guard status == nil else { return false }
            var waitStatus: Int32 = 0
            let reaped = waitpid(self.pid, &waitStatus, WNOHANG)
            if reaped == self.pid || (reaped == -1 && errno == ECHILD) {
                status = waitStatus
                return false
            }
            return true
        }
    }

    /// The exit code, or 128 + the signal that ended it; nil while running.
    public var terminationStatus: Int32? {
        guard !self.isRunning, let status = self.exitStatus.withLock({ $0 }) else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// CPU seconds (user + system) of this process and every descendant alive now (PostgreSQL's backends), from /proc.
    public var cpuSeconds: Double { ProcessCPU.ofTree(rootedAt: self.pid) }

    /// The last `lines` lines of the log, for an error message.
    public func logTail(lines: Int = 20) -> String {
        let text = (try? String(contentsOf: self.logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Sends `signal` to the process (a no-op once it has exited).
    public func signal(_ signal: Int32) {
        if self.isRunning { kill(self.pid, signal) }
    }

    /// `signal` (default ``stopSignal``), then SIGKILL after `grace`; returns once the process has exited.
    public func stop(signal: Int32? = nil, grace: Duration = .seconds(30)) async {
        guard self.isRunning else { return }
        kill(self.pid, signal ?? self.stopSignal)
        let deadline = ContinuousClock.now + grace
        while self.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if self.isRunning {
            // The whole process group (the child leads its own): a server's workers die with it.
            kill(-self.pid, SIGKILL)
            while self.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// Waits until `ready` returns true, polling; fails at once, with the log's end, if the process exits.
    public func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ ready: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            if await ready() { return }
            guard self.isRunning else {
                throw LocalServerError(
                    "\(self.name) exited (status \(self.terminationStatus.map(String.init) ?? "?")) before \(what):\n\(self.logTail())"
                )
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
    public static func descendants(of pid: Int32) -> [Int32] {
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
