import Foundation
import Logging
import Metrics

/// Backfill progress: blocks/s, logs/s and the ETA, drawn as one line on the terminal when
/// stderr is one (else logged every 10 s), and the same figures as gauges.
final class BackfillProgress {
    private let source: String
    private let range: ClosedRange<UInt64>
    private let logger: Logger
    private let drawsOnTerminal: Bool
    private let started = ContinuousClock.now
    private var lastShown = ContinuousClock.now
    private var blocks: UInt64 = 0
    private var logs: UInt64 = 0
    private let blocksPerSecond: Gauge
    private let logsPerSecond: Gauge
    private let remainingSeconds: Gauge

    init(source: String, range: ClosedRange<UInt64>, showsProgress: Bool, logger: Logger) {
        self.source = source
        self.range = range
        self.logger = logger
        self.drawsOnTerminal = showsProgress && isatty(STDERR_FILENO) == 1
        blocksPerSecond = Gauge(label: "tributary_adapter_backfill_blocks_per_second", dimensions: [("chain", source)])
        logsPerSecond = Gauge(label: "tributary_adapter_backfill_logs_per_second", dimensions: [("chain", source)])
        remainingSeconds = Gauge(label: "tributary_adapter_backfill_eta_seconds", dimensions: [("chain", source)])
    }

    /// Records that everything up to `block` is done, with `newLogs` more logs.
    func advance(through block: UInt64, newLogs: Int) {
        blocks = block - range.lowerBound + 1
        logs += UInt64(newLogs)
        let now = ContinuousClock.now
        guard now - lastShown >= (drawsOnTerminal ? .milliseconds(250) : .seconds(10)) else { return }
        lastShown = now
        show(final: false)
    }

    /// Draws the final figures and ends the line.
    func finish() {
        blocks = range.upperBound - range.lowerBound &+ 1
        show(final: true)
    }

    private func show(final: Bool) {
        let seconds = max(0.001, (ContinuousClock.now - started).secondsValue)
        let total = range.upperBound - range.lowerBound &+ 1
        let blockRate = Double(blocks) / seconds
        let logRate = Double(logs) / seconds
        let eta = blockRate > 0 ? Double(total - min(blocks, total)) / blockRate : 0
        blocksPerSecond.record(blockRate)
        logsPerSecond.record(logRate)
        remainingSeconds.record(eta)
        let percent = total == 0 ? 100 : Int(Double(blocks) * 100 / Double(total))
        let line =
            "\(source) backfill \(percent)% \(blocks)/\(total) blocks · \(Int(blockRate)) blocks/s · "
            + "\(Int(logRate)) logs/s · " + (final ? "done in \(Self.format(seconds))" : "ETA \(Self.format(eta))")
        if drawsOnTerminal {
            FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K" + (final ? "\n" : "")).utf8))
        } else {
            logger.info("\(line)")
        }
    }

    private static func format(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3600 { return "\(whole / 60)m\(whole % 60)s" }
        return "\(whole / 3600)h\(whole % 3600 / 60)m"
    }
}
