import Logging
import ServiceLifecycle

/// What the consuming roles share: consume a topic in a group until graceful shutdown, closing
/// the consumer however the loop ends.
public enum GroupConsumerLoop {
    /// Joins `group` on `topic` and runs `body` with the consumer until graceful shutdown or
    /// cancellation; other errors are rethrown after the consumer is closed.
    public static func run(
        log: any EventLog, group: String, topic: String, role: String, logger: Logger,
        _ body: @escaping @Sendable (any GroupConsumer) async throws -> Void
    ) async throws {
        let consumer = try await log.makeGroupConsumer(group: group, topics: [topic])
        logger.info("\(role) started", metadata: ["group": "\(group)"])
        do {
            try await cancelWhenGracefulShutdown { try await body(consumer) }
        } catch is CancellationError {
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
        logger.info("\(role) stopped")
    }
}
