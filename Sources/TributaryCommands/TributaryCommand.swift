import ArgumentParser

/// The `tributary` command line.
public struct TributaryCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "tributary",
        abstract: "Turns on-chain activity into real-time, programmable streams.",
        subcommands: [
            DevCommand.self, RunCommand.self, DevnetCommand.self, TopicsCommand.self, TailCommand.self,
            ProduceCommand.self,
            ConfigCommand.self, FunctionsCommand.self, TriggersCommand.self, KeysCommand.self,
        ]
    )

    public init() {}
}

extension TributaryCommand {
    /// Parses the process arguments and runs the chosen command; on error prints one line and
    /// exits non-zero. (Calling `main()` from a `main.swift` picks ArgumentParser's synchronous
    /// entry point on Linux, which refuses async commands.)
    public static func runAsMain() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
