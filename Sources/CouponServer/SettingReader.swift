/// A flag or environment value that is not valid; the message is one line naming both.
public struct SettingError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension ServerConfiguration {
    public typealias SettingError = CouponServer.SettingError

    /// `environment` without any `COUPONGATE_…` setting: for a child process that must run
    /// with the settings its parent gives as flags and nothing the shell exported (the
    /// embedded default that `loadtest` starts).
    public static func withoutSettings(_ environment: [String: String]) -> [String: String] {
        environment.filter { !$0.key.hasPrefix(SettingReader.variablePrefix) }
    }
}

/// One setting's raw text and where it came from (`--flag` or `VARIABLE`), for error messages.
struct Setting {
    var text: String
    var source: String

    func invalid(_ expected: String) -> SettingError {
        SettingError("invalid value '\(self.text)' for \(self.source): \(expected)")
    }

    /// A switch given as `on` or `off` (any case).
    func onOrOff() throws(SettingError) -> Bool {
        switch self.text.lowercased() {
        case "on": return true
        case "off": return false
        default: throw self.invalid("expected on or off")
        }
    }
}

/// Reads settings from their flag, else their `COUPONGATE_…` environment variable.
struct SettingReader {
    /// Every setting's variable starts with it.
    static let variablePrefix = "COUPONGATE_"

    let environment: [String: String]

    func pick(_ flag: String?, option: String, variable: String) -> Setting? {
        if let flag { return Setting(text: flag, source: "--\(option)") }
        if let value = self.environment[variable] { return Setting(text: value, source: variable) }
        return nil
    }

    /// A boolean flag, or its variable as true/false/1/0/yes/no.
    func flag(_ flag: Bool, option: String, variable: String) throws(SettingError) -> Bool {
        if flag { return true }
        guard let value = self.environment[variable] else { return false }
        switch value.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off", "": return false
        default: throw Setting(text: value, source: variable).invalid("expected true or false")
        }
    }
}
