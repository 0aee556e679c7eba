import ArgumentParser

/// `--log-level` and the `/metrics` endpoint of the processes without the API (relay, consume).
struct WorkerOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical (COUPONGATE_LOG_LEVEL; default info).")
    var logLevel: String?

    @Option(help: "Serve GET /metrics on this port (0 for any free one; default: no metrics endpoint).")
    var metricsPort: Int?

    @Option(help: "Address for --metrics-port (default 127.0.0.1).")
    var metricsHost = "127.0.0.1"

    func validate() throws {
        if let metricsPort, !(0...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be from 0 to 65535")
        }
    }

    /// Where to serve `/metrics`, when asked to.
    var metricsAddress: (host: String, port: Int)? {
        self.metricsPort.map { (self.metricsHost, $0) }
    }
}
