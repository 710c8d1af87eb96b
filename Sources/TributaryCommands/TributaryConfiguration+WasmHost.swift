import FunctionHost

extension TributaryConfiguration {
    /// `wasmHost.*`: worker threads and the function limit policy (defaults for what a manifest
    /// leaves unset, maximums a manifest may ask for).
    static let wasmHostKeys: [ConfigurationKey] =
        [
            ConfigurationKey(
                name: "wasmHost.workers", summary: "threads running guest code (default: the number of cores)"
            ) {
                $0.wasmHost.workers = try parseInteger($1, in: 1...1_024)
            }
        ]
        + [(\FunctionLimitPolicy.defaults, "defaults"), (\FunctionLimitPolicy.maximums, "maximums")].flatMap {
            limits, section in
            let defaults = FunctionLimitPolicy()[keyPath: limits]
            return [
                limitKey(section, "fuel", "fuel (about one unit per operator)", "\(defaults.fuel)") {
                    $0[keyPath: limits].fuel = UInt64(try parseInteger($1, in: 1...Int.max))
                },
                limitKey(section, "timeout", "wall-clock deadline", "\(defaults.timeout.wholeMilliseconds)ms") {
                    let timeout = try parseDuration($1)
                    guard timeout >= .milliseconds(1) else {
                        throw ConfigurationValueProblem(reason: "expected at least 1ms, got '\($1)'")
                    }
                    $0[keyPath: limits].timeout = timeout
                },
                limitKey(section, "memoryPages", "linear memory in 64 KiB pages", "\(defaults.memoryPages)") {
                    $0[keyPath: limits].memoryPages = UInt32(try parseInteger($1, in: 1...65_536))
                },
                limitKey(section, "outputBytes", "output bytes", "\(defaults.outputBytes)") {
                    $0[keyPath: limits].outputBytes = try parseInteger($1, in: 1...(1 << 30))
                },
                limitKey(section, "logBytes", "log bytes kept per invocation", "\(defaults.logBytes)") {
                    $0[keyPath: limits].logBytes = try parseInteger($1, in: 0...(1 << 30))
                },
                limitKey(section, "stackBytes", "interpreter stack bytes", "\(defaults.stackBytes)") {
                    $0[keyPath: limits].stackBytes = try parseInteger($1, in: (64 << 10)...(1 << 30))
                },
            ]
        }

    private static func limitKey(
        _ section: String, _ field: String, _ meaning: String, _ defaultValue: String,
        _ apply: @escaping @Sendable (inout FunctionLimitPolicy, String) throws -> Void
    ) -> ConfigurationKey {
        let summary =
            section == "defaults"
            ? "\(meaning) when a manifest sets none (default: \(defaultValue))"
            : "most \(meaning) a manifest may ask for (default: \(defaultValue))"
        return ConfigurationKey(name: "wasmHost.\(section).\(field)", summary: summary) {
            try apply(&$0.wasmHost.policy, $1)
        }
    }

    /// Every default must be within its maximum, or no function could be deployed without limits.
    func validateWasmHost() throws {
        let policy = wasmHost.policy
        let pairs: [(String, Bool)] = [
            ("fuel", policy.defaults.fuel <= policy.maximums.fuel),
            ("timeout", policy.defaults.timeout <= policy.maximums.timeout),
            ("memoryPages", policy.defaults.memoryPages <= policy.maximums.memoryPages),
            ("outputBytes", policy.defaults.outputBytes <= policy.maximums.outputBytes),
            ("logBytes", policy.defaults.logBytes <= policy.maximums.logBytes),
            ("stackBytes", policy.defaults.stackBytes <= policy.maximums.stackBytes),
        ]
        if let (field, _) = pairs.first(where: { !$0.1 }) {
            throw CommandError(
                .invalidConfiguration,
                "wasmHost.defaults.\(field) is above wasmHost.maximums.\(field); raise the maximum or lower the default"
            )
        }
    }
}
