import Foundation

/// Finds the programs a throwaway server needs; installs nothing.
public enum LocalExecutable {
    /// The first of `names` in `$variable` (when set), `directories`, then `PATH` and the sbin folders.
    /// - Throws: one line naming the program and the package that provides it.
    public static func find(
        _ names: [String],
        variable: String? = nil,
        directories: [String] = [],
        package: String
    ) throws(LocalServerError) -> String {
        let environment = ProcessInfo.processInfo.environment
        if let variable, let path = environment[variable], !path.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw LocalServerError("\(variable)=\(path) is not an executable file")
            }
            return path
        }
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in directories + path + ["/usr/local/sbin", "/usr/sbin", "/sbin"] {
            for name in names {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        throw LocalServerError("\(names[0]) not found: install \(package)" + (variable.map { " (or set \($0))" } ?? ""))
    }

    /// Runs `executable` to its end (as `user` when given and this process is root) and returns its output.
    /// - Throws: naming the program and its output when it exits non-zero.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], user: String? = nil, input: String? = nil) async throws -> String {
        let process = Process()
        let (program, fullArguments) = LocalProcess.command(executable, arguments, user: user)
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = fullArguments
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw LocalServerError("\((executable as NSString).lastPathComponent) failed (exit \(process.terminationStatus)): \(text.suffix(2000))")
        }
        return text
    }
}
