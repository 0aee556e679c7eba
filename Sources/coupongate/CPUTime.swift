import Foundation

/// CPU seconds (user + system) of this process (another's: `ProcessCPU` of LocalServers).
enum CPUTime {
    static var ofThisProcess: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func seconds(_ time: timeval) -> Double {
        Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000
    }
}
