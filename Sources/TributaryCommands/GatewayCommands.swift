import ArgumentParser
import Foundation

/// Percent-encodes a query value.
private func queryValue(_ text: String) -> String {
    var allowed = CharacterSet.urlQueryAllowed
    allowed.remove(charactersIn: "&=+?#")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}

/// Prints a JSON reply, pretty.
private func printJSON(_ data: Data) {
    if let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
        let pretty = try? JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
    {
        print(String(decoding: pretty, as: UTF8.self))
    } else {
        print(String(decoding: data, as: UTF8.self))
    }
}

/// `tributary functions deploy|list|get|invoke|rm` over the gateway.
struct FunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions", abstract: "Deploy, list, invoke and remove functions (through the gateway).",
        subcommands: [Deploy.self, List.self, Invoke.self, Remove.self])

    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deploy a WebAssembly module as a new version of a function.")
        @OptionGroup var client: GatewayClientOptions
        @Argument(help: "Function name.") var name: String
        @Argument(help: "The .wasm module.") var module: String
        @Option(help: "raw or wasi (default: raw).") var abi = "raw"
        @Option(help: "Raw ABI entry export (default: handle).") var entry: String?
        @Option(
            name: .customLong("env"),
            help: ArgumentHelp("Environment variable, KEY=VALUE (repeatable).", valueName: "KEY=VALUE"))
        var environment: [String] = []
        @Option(name: .customLong("arg"), help: "WASI argument (repeatable).") var arguments: [String] = []
        @Option(help: "Fuel limit.") var fuel: UInt64?
        @Option(help: "Wall-clock limit in milliseconds.") var timeoutMs: UInt32?
        @Option(help: "Memory limit in 64 KiB pages.") var memoryPages: UInt32?
        @Option(help: "Invocations of this function running at once.") var maxConcurrency: UInt32?
        @Option(help: "A description.") var description: String?

        func run() async throws {
            guard let bytes = FileManager.default.contents(atPath: module) else {
                throw CommandError(.invalidInput, "cannot read the module \(module)")
            }
            guard abi == "raw" || abi == "wasi" else {
                throw CommandError(.invalidInput, "--abi: expected raw or wasi")
            }
            var env: [String: String] = [:]
            for pair in environment {
                guard let equals = pair.firstIndex(of: "=") else {
                    throw CommandError(.invalidInput, "--env '\(pair)': expected KEY=VALUE")
                }
                env[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            var limits: [String: Any] = [:]
            if let fuel { limits["fuel"] = "\(fuel)" }
            if let timeoutMs { limits["timeoutMs"] = timeoutMs }
            if let memoryPages { limits["memoryPages"] = memoryPages }
            if let maxConcurrency { limits["maxConcurrency"] = maxConcurrency }
            var manifest: [String: Any] = [
                "abi": abi == "wasi" ? "FUNCTION_ABI_WASI" : "FUNCTION_ABI_RAW", "environment": env,
                "arguments": arguments,
                "limits": limits,
            ]
            if let entry { manifest["entry"] = entry }
            if let description { manifest["description"] = description }
            let reply = try await client.client().send(
                "POST", "/v1/functions",
                json: ["name": name, "module": bytes.base64EncodedString(), "manifest": manifest])
            let object = reply.object
            print("deployed \(name) version \(object["version"] ?? "?") (sha256 \(object["moduleSha256"] ?? "?"))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List functions (latest versions).")
        @OptionGroup var client: GatewayClientOptions
        @Flag(help: "Print the gateway's JSON.") var json = false

        func run() async throws {
            let reply = try await client.client().send("GET", "/v1/functions")
            if json { return printJSON(reply.body) }
            for function in reply.object["functions"] as? [[String: Any]] ?? [] {
                let manifest = function["manifest"] as? [String: Any]
                print(
                    "\(function["name"] ?? "?")  v\(function["version"] ?? "?")  \(manifest?["abi"] as? String == "FUNCTION_ABI_WASI" ? "wasi" : "raw")  \(function["createdAt"] ?? "")"
                )
            }
        }
    }

    struct Invoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invoke a function with a JSON input (--input, else stdin) and print its result.")
        @OptionGroup var client: GatewayClientOptions
        @Argument(help: "Function name.") var name: String
        @Option(help: "The JSON input (default: read stdin).") var input: String?
        @Option(help: "Version (default: the latest).") var version: UInt32?
        @Option(help: "How long to wait, such as 5s or 500ms (default: 10s).") var timeout: String?

        func run() async throws {
            let body = input.map { Data($0.utf8) } ?? FileHandle.standardInput.readDataToEndOfFile()
            guard (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])) != nil else {
                throw CommandError(.invalidInput, "the input is not JSON")
            }
            var query: [String] = []
            if let version { query.append("version=\(version)") }
            if let timeout { query.append("timeout=\(queryValue(timeout))") }
            let path =
                "/v1/functions/\(queryValue(name))/invoke" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            let reply = try await client.client().send("POST", path, body: body)
            var object = reply.object
            // The output is bytes (base64 in JSON); show it as text when it is.
            if let output = object["output"] as? String, let data = Data(base64Encoded: output) {
                object["output"] =
                    (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
                    ?? String(decoding: data, as: UTF8.self)
            }
            printJSON((try? JSONSerialization.data(withJSONObject: object)) ?? reply.body)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Delete a function and all its versions.")
        @OptionGroup var client: GatewayClientOptions
        @Argument(help: "Function name.") var name: String

        func run() async throws {
            _ = try await client.client().send("DELETE", "/v1/functions/\(queryValue(name))")
            print("removed \(name)")
        }
    }
}

/// Trigger fields shared by `triggers add` and `triggers test`.
struct TriggerOptions: ParsableArguments {
    @Option(name: .customLong("function"), help: "The function to invoke.") var function: String?
    @Option(help: "Function version (default: the latest).") var version: UInt32?
    @Option(name: .customLong("chain"), help: "CAIP-2 chain id such as eip155:1 (repeatable; default: all).")
    var chains: [String] = []
    @Option(name: .customLong("address"), help: "Contract address (repeatable; default: all).") var addresses:
        [String] = []
    @Option(help: "Event signature or ABI name, such as Transfer(address,address,uint256) or erc20.Transfer.")
    var event: String?
    @Option(help: "Filter expression (docs/filters.md).") var filter: String?
    @Option(help: "instant, confirmations:N or finalized (default: instant).") var finality: String?

    func record(id: String?) throws -> [String: Any] {
        var trigger: [String: Any] = ["chains": chains, "addresses": addresses]
        if let id { trigger["id"] = id }
        if let function { trigger["functionName"] = function }
        if let version { trigger["functionVersion"] = version }
        if let event { trigger["event"] = event }
        if let filter { trigger["filter"] = filter }
        switch finality {
        case nil, "instant": trigger["finality"] = ["instant": true]
        case "finalized": trigger["finality"] = ["finalized": true]
        case let text? where text.hasPrefix("confirmations:"):
            guard let count = UInt32(text.dropFirst("confirmations:".count)), count > 0 else {
                throw CommandError(.invalidInput, "--finality '\(text)': expected confirmations:N with N ≥ 1")
            }
            trigger["finality"] = ["confirmations": count]
        case let text?:
            throw CommandError(.invalidInput, "--finality '\(text)': expected instant, confirmations:N or finalized")
        }
        return trigger
    }
}

/// `tributary triggers add|list|rm|test` over the gateway.
struct TriggersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triggers", abstract: "Add, list, remove and test triggers (through the gateway).",
        subcommands: [Add.self, List.self, Remove.self, Test.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create (or replace) a trigger.")
        @OptionGroup var client: GatewayClientOptions
        @OptionGroup var trigger: TriggerOptions
        @Option(help: "Trigger id (default: generated).") var id: String?

        func run() async throws {
            guard trigger.function != nil else { throw CommandError(.invalidInput, "--function is required") }
            let reply = try await client.client().send("POST", "/v1/triggers", json: try trigger.record(id: id))
            print("trigger \(reply.object["id"] ?? "?") → \(reply.object["functionName"] ?? "?")")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List triggers.")
        @OptionGroup var client: GatewayClientOptions
        @Flag(help: "Print the gateway's JSON.") var json = false

        func run() async throws {
            let reply = try await client.client().send("GET", "/v1/triggers")
            if json { return printJSON(reply.body) }
            for trigger in reply.object["triggers"] as? [[String: Any]] ?? [] {
                let filter = (trigger["filter"] as? String).map { "  where \($0)" } ?? ""
                print(
                    "\(trigger["id"] ?? "?")  → \(trigger["functionName"] ?? "?")  \(trigger["event"] ?? "any event")\(filter)"
                )
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a trigger.")
        @OptionGroup var client: GatewayClientOptions
        @Argument(help: "Trigger id.") var id: String

        func run() async throws {
            _ = try await client.client().send("DELETE", "/v1/triggers/\(queryValue(id))")
            print("removed \(id)")
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate a trigger against an event (--event-file) or the most recent events (--recent).")
        @OptionGroup var client: GatewayClientOptions
        @OptionGroup var trigger: TriggerOptions
        @Option(help: "A canonical event as JSON.") var eventFile: String?
        @Option(help: "How many recent events to evaluate (default: 100).") var recent: Int?

        func run() async throws {
            var body: [String: Any] = ["trigger": try trigger.record(id: nil)]
            if let eventFile {
                guard let data = FileManager.default.contents(atPath: eventFile),
                    let event = try? JSONSerialization.jsonObject(with: data)
                else { throw CommandError(.invalidInput, "cannot read a JSON event from \(eventFile)") }
                body["event"] = event
            } else {
                body["recent"] = recent ?? 100
            }
            let reply = try await client.client().send("POST", "/v1/triggers/test", json: body)
            print("matched \(reply.object["matched"] ?? 0) of \(reply.object["evaluated"] ?? 0) events")
            for event in reply.object["matches"] as? [[String: Any]] ?? [] {
                print("  \(event["id"] ?? "?")")
            }
        }
    }
}

/// `tributary keys create|list|revoke` over the gateway (admin scope).
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys (through the gateway; needs an admin key).",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; it is printed once.")
        @OptionGroup var client: GatewayClientOptions
        @Option(help: "A name for the key.") var name: String
        @Option(name: .customLong("scope"), help: "events:read, results:read, functions:write or admin (repeatable).")
        var scopes: [String] = []
        @Option(name: .customLong("origin"), help: "Browser origin the key may be used from (repeatable).")
        var origins: [String] = []

        func run() async throws {
            guard !scopes.isEmpty else { throw CommandError(.invalidInput, "--scope is required (repeatable)") }
            let reply = try await client.client().send(
                "POST", "/v1/keys", json: ["name": name, "scopes": scopes, "allowedOrigins": origins])
            print(
                "key \(reply.object["id"] ?? "?") (\(scopes.joined(separator: ", "))); store it now, it is not shown again:"
            )
            print(reply.object["key"] as? String ?? "?")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var client: GatewayClientOptions

        func run() async throws {
            let reply = try await client.client().send("GET", "/v1/keys")
            for key in reply.object["keys"] as? [[String: Any]] ?? [] {
                let revoked = (key["revokedAt"] as? String).map { "  revoked \($0)" } ?? ""
                print(
                    "\(key["id"] ?? "?")  \(key["name"] ?? "")  \((key["scopes"] as? [String] ?? []).joined(separator: ","))\(revoked)"
                )
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key.")
        @OptionGroup var client: GatewayClientOptions
        @Argument(help: "Key id.") var id: String

        func run() async throws {
            _ = try await client.client().send("DELETE", "/v1/keys/\(queryValue(id))")
            print("revoked \(id)")
        }
    }
}

/// `tributary tail --stream events|results`: the gateway's SSE stream, one JSON line per message.
struct StreamTail {
    let client: GatewayClient
    let stream: String
    let function: String?
    let filter: String?
    let from: String?
    let limit: Int?

    func run() async throws {
        guard stream == "events" || stream == "results" else {
            throw CommandError(.invalidInput, "--stream: expected events or results")
        }
        var query = ["stream=\(stream)"]
        if let function { query.append("function=\(queryValue(function))") }
        if let filter { query.append("filter=\(queryValue(filter))") }
        if let from { query.append("from=\(queryValue(from))") }
        let printed = Counter()
        let limit = limit
        try await client.stream("/v1/stream/sse?" + query.joined(separator: "&")) { type, data in
            guard type == "event" || type == "result" else { return true }
            let count = printed.increment()
            if let limit, count > limit { return false }
            print(data)
            fflush(nil)
            return limit.map { count < $0 } ?? true
        }
    }

    /// Counts printed messages across the delegate's calls.
    final class Counter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func increment() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}
