/// Settings of one chain adapter: which chain, which endpoints, where to start and how cautious
/// to be about reorgs and finality.
public struct ChainAdapterConfiguration: Sendable {
    /// Where an adapter with no history in `raw-events` starts.
    public enum StartBlock: Sendable, Hashable, CustomStringConvertible {
        /// Backfill from this block.
        case number(UInt64)
        /// Tail from the current head; nothing older is fetched.
        case latest

        public var description: String {
            switch self {
            case .number(let number): "\(number)"
            case .latest: "latest"
            }
        }
    }

    /// The adapter's name, unique per chain in one deployment (for example `mainnet`).
    public var name: String
    /// The chain id `eth_chainId` must answer; the adapter refuses to start on another chain.
    public var chainID: UInt64
    /// JSON-RPC endpoints, tried by weight and health.
    public var endpoints: [JSONRPCEndpoint]
    /// A `ws://` or `wss://` URL for `newHeads`; `nil` polls only. Default: `nil`.
    public var webSocketURL: String?
    /// Where to start without history. Default: `.latest`.
    public var start: StartBlock
    /// Blocks (the block itself included) after which an event is `confirmed`. Default: 12.
    public var confirmations: UInt64
    /// Recent blocks remembered to answer reorgs; a deeper reorg stops the adapter. Default: 128.
    public var reorgWindow: Int
    /// How often the head is polled without a WebSocket (and, as a safety net, 5× slower with one).
    /// Default: 2 s.
    public var pollInterval: Duration
    /// Per-request timeout. Default: 10 s.
    public var requestTimeout: Duration
    /// Backfill ranges and parallelism. Default: see ``Backfiller/Configuration``.
    public var backfill: Backfiller.Configuration
    /// Whether backfill progress is drawn on the terminal (when stderr is one). Default: `true`.
    public var showsProgress: Bool

    /// Creates a configuration; every parameter defaults as documented on its property.
    public init(
        name: String, chainID: UInt64, endpoints: [JSONRPCEndpoint], webSocketURL: String? = nil,
        start: StartBlock = .latest, confirmations: UInt64 = 12, reorgWindow: Int = 128,
        pollInterval: Duration = .seconds(2), requestTimeout: Duration = .seconds(10),
        backfill: Backfiller.Configuration = Backfiller.Configuration(), showsProgress: Bool = true
    ) {
        self.name = name
        self.chainID = chainID
        self.endpoints = endpoints
        self.webSocketURL = webSocketURL
        self.start = start
        self.confirmations = confirmations
        self.reorgWindow = reorgWindow
        self.pollInterval = pollInterval
        self.requestTimeout = requestTimeout
        self.backfill = backfill
        self.showsProgress = showsProgress
    }

    /// The CAIP-2 chain id, for example `eip155:1`: the key of every record this chain produces.
    public var caip2: String { "eip155:\(chainID)" }

    /// What records carry as their `source`, for example `eip155:1/mainnet`.
    public var source: String { "\(caip2)/\(name)" }
}
