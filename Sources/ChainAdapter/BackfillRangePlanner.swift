/// Plans a backfill with `eth_getLogs` over block ranges: hands out ranges for bounded
/// parallel requests, adapts the range size to the provider (shrinks on "too many results" or
/// range errors — to the provider's suggested range when it gives one — and grows again on
/// success), and releases results strictly in block order.
///
/// Pure state: the adapter does the requests and reports back.
struct BackfillRangePlanner {
    /// Why a range request failed.
    enum Failure: Equatable {
        /// Too many results; the provider may suggest a range that would work.
        case tooManyResults(suggested: ClosedRange<UInt64>?)
        /// The range is larger than the provider allows; `limit` blocks when it says so.
        case rangeTooLarge(limit: UInt64?)
        /// Anything else (timeouts, 5xx, …): the same range is tried again.
        case transient
    }

    /// A finished range and its payload, in block order.
    struct Completed<Payload> {
        var range: ClosedRange<UInt64>
        var payload: Payload
    }

    private(set) var rangeSize: UInt64
    let minimumRange: UInt64
    let maximumRange: UInt64
    let maximumInFlight: Int
    /// The next block no range has covered yet.
    private var nextBlock: UInt64
    /// The last block to cover.
    let lastBlock: UInt64
    /// Ranges to retry before new ones, lowest first.
    private var retries: [ClosedRange<UInt64>] = []
    private(set) var inFlight: Set<ClosedRange<UInt64>.Bound> = []
    /// The next block to release in order.
    private var releaseFrom: UInt64

    /// Plans `first...last` starting with ranges of `initialRange` blocks.
    init(
        first: UInt64, last: UInt64, initialRange: UInt64 = 500, minimumRange: UInt64 = 1,
        maximumRange: UInt64 = 10_000, maximumInFlight: Int = 4
    ) {
        self.nextBlock = first
        self.releaseFrom = first
        self.lastBlock = last
        self.minimumRange = max(1, minimumRange)
        self.maximumRange = max(minimumRange, maximumRange)
        self.rangeSize = min(max(initialRange, minimumRange), maximumRange)
        self.maximumInFlight = max(1, maximumInFlight)
    }

    /// Whether every block has been requested, answered and released.
    var isFinished: Bool { releaseFrom > lastBlock && inFlight.isEmpty && retries.isEmpty }

    /// The next range to request, or `nil` when enough are in flight or nothing is left.
    mutating func nextRange() -> ClosedRange<UInt64>? {
        guard inFlight.count < maximumInFlight else { return nil }
        let range: ClosedRange<UInt64>
        if !retries.isEmpty {
            range = retries.removeFirst()
        } else {
            guard nextBlock <= lastBlock else { return nil }
            let end = min(lastBlock, nextBlock &+ rangeSize &- 1)
            range = nextBlock...end
            nextBlock = end &+ 1
        }
        inFlight.insert(range.lowerBound)
        return range
    }

    /// Records a successful range; grows the range size after success.
    mutating func succeeded(_ range: ClosedRange<UInt64>) {
        inFlight.remove(range.lowerBound)
        rangeSize = min(maximumRange, rangeSize * 2)
    }

    /// Records a failed range: it is split (or retried) and the range size shrinks.
    mutating func failed(_ range: ClosedRange<UInt64>, _ failure: Failure) {
        inFlight.remove(range.lowerBound)
        let length = range.upperBound - range.lowerBound + 1
        var pieces: [ClosedRange<UInt64>]
        switch failure {
        case .transient:
            pieces = [range]
        case .tooManyResults(let suggested?)
        where suggested.lowerBound == range.lowerBound && suggested.upperBound < range.upperBound:
            pieces = [suggested, (suggested.upperBound + 1)...range.upperBound]
            rangeSize = max(minimumRange, suggested.upperBound - suggested.lowerBound + 1)
        case .rangeTooLarge(let limit?) where limit >= 1 && limit < length:
            pieces = Self.split(range, size: limit)
            rangeSize = max(minimumRange, limit)
        default:
            let half = max(1, length / 2)
            pieces = length > 1 ? Self.split(range, size: half) : [range]
            rangeSize = max(minimumRange, min(rangeSize, half))
        }
        retries = (pieces + retries).sorted { $0.lowerBound < $1.lowerBound }
    }

    /// Releases, in block order, the finished ranges that no earlier range is still waiting for.
    mutating func release<Payload>(_ finished: inout [UInt64: Completed<Payload>]) -> [Completed<Payload>] {
        var released: [Completed<Payload>] = []
        while let next = finished.removeValue(forKey: releaseFrom) {
            released.append(next)
            releaseFrom = next.range.upperBound + 1
        }
        return released
    }

    private static func split(_ range: ClosedRange<UInt64>, size: UInt64) -> [ClosedRange<UInt64>] {
        stride(from: range.lowerBound, through: range.upperBound, by: Int(size)).map {
            $0...min(range.upperBound, $0 + size - 1)
        }
    }
}
