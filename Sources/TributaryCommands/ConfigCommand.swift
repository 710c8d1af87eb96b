import ArgumentParser
import ChainAdapter

/// `tributary config …`
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Inspect the configuration.", subcommands: [Check.self, Keys.self])

    /// `tributary config check`: validates and prints the effective configuration.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the configuration (file, TRIBUTARY_* environment, flags) and print the result.")

        @OptionGroup var options: GlobalOptions

        func run() async throws {
            let (configuration, sources) = try options.loadConfiguration()
            let values: [(String, String)] = [
                ("log.backend", configuration.backend.rawValue),
                ("log.encoding", configuration.encoding.rawValue),
                ("log.partitions", "\(configuration.topicPartitions)"),
                ("embedded.directory", configuration.embedded.directory),
                ("embedded.durability", configuration.embedded.durability.rawValue),
                ("embedded.maintenanceInterval", "\(configuration.embedded.maintenanceInterval)"),
                ("processor.abiFiles", configuration.abiFiles.joined(separator: ",")),
                ("processor.reusedEvents", "\(configuration.processorReusedEvents)"),
                ("kafka.brokers", configuration.kafka.bootstrapServers),
                ("kafka.clientId", configuration.kafka.clientID),
                ("kafka.replicationFactor", "\(configuration.kafka.replicationFactor)"),
                ("kafka.sessionTimeout", "\(configuration.kafka.sessionTimeout)"),
                ("kafka.operationTimeout", "\(configuration.kafka.operationTimeout)"),
                ("kafka.messageTimeout", "\(configuration.kafka.messageTimeout)"),
                ("wasmHost.workers", "\(configuration.wasmHost.workers)"),
                ("gateway.host", configuration.gateway.host),
                ("gateway.port", "\(configuration.gateway.port)"),
                ("gateway.allowedOrigins", configuration.gateway.allowedOrigins.joined(separator: ",")),
                // Never printed: it grants every scope.
                ("gateway.adminKey", configuration.gateway.adminKey == nil ? "(not set)" : "(set, hidden)"),
                ("gateway.slowConsumer", configuration.gateway.slowConsumerAction.rawValue),
            ]
            print("configuration OK")
            for (key, value) in values {
                print("  \(key) = \(value)  (\(sources[key]?.description ?? "default"))")
            }
            for chain in configuration.chains.values.sorted(by: { $0.name < $1.name }) {
                // URLs redacted: paths and queries often carry API keys.
                print(
                    "  chains.\(chain.name): chain id \(chain.chainID), rpc \(chain.endpoints.map(\.redacted).joined(separator: ", ")), start \(chain.start), confirmations \(chain.confirmations), reorg window \(chain.reorgWindow)"
                )
            }
        }
    }

    /// `tributary config keys`: lists every key with its environment variable.
    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every configuration key.")

        func run() async throws {
            for key in TributaryConfiguration.keys {
                print("\(key.name)  [\(key.environmentName)]\n    \(key.summary)")
            }
            for field in TributaryConfiguration.chainFields {
                print("chains.<name>.\(field.field)  [file or --set only]\n    \(field.summary)")
            }
        }
    }
}
