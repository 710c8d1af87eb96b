import EVM
import EventLog
import Logging
import TributaryModel

/// Builds the ABI registry the processor decodes with and the router resolves trigger events
/// with: the built-in ABIs, then ABIs from configuration, then the event ABIs in deployed
/// functions' manifests (`tributary.functions`). Later sources win for the same event.
public struct ABIRegistryBuilder: Sendable {
    /// Built-in plus configured ABIs.
    public let base: EventRegistry

    /// Creates a builder over `base` (default: the built-in ABIs).
    public init(base: EventRegistry = .builtIn) {
        self.base = base
    }

    /// Adds configured ABIs (JSON text by name) to the built-ins.
    ///
    /// - Throws: ``ProcessorError`` `.invalidTrigger` naming the ABI that does not parse.
    public static func configured(_ abis: [(name: String, json: String)]) throws -> ABIRegistryBuilder {
        var registry = EventRegistry.builtIn
        for (name, json) in abis {
            do {
                registry = registry.adding(try ContractABI(json: json), name: name)
            } catch {
                throw ProcessorError(.invalidTrigger, "ABI '\(name)': \(error)")
            }
        }
        return ABIRegistryBuilder(base: registry)
    }

    /// The base registry plus the event ABIs of the functions in `functions` (a view of
    /// `tributary.functions`); a function whose ABI does not parse is logged and skipped.
    public func registry(withFunctions functions: CompactedTopicView, logger: Logger) -> EventRegistry {
        var registry = base
        let records = functions.values.values.sorted { ($0.key ?? []).lexicographicallyPrecedes($1.key ?? []) }
        for record in records {
            guard let value = record.value,
                let function = try? RecordEncoding.decode(
                    Tributary_V1_FunctionRecord.self, from: value, contentType: record.contentType),
                !function.manifest.eventAbiJson.isEmpty
            else { continue }
            do {
                registry = registry.adding(try ContractABI(json: function.manifest.eventAbiJson), name: function.name)
            } catch {
                logger.warning(
                    "function event ABI skipped", metadata: ["function": "\(function.name)", "reason": "\(error)"])
            }
        }
        return registry
    }
}
