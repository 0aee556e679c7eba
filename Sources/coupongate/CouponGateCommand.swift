import ArgumentParser

@main
struct CouponGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coupongate",
        abstract: "First-come-first-served coupon issuing service.",
        subcommands: [ServeCommand.self, RelayCommand.self, ConsumeCommand.self, ReconcileCommand.self, LoadtestCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
