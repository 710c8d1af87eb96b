import TributaryModel

/// Settings of the API gateway. Every default is safe for a laptop: loopback only, no
/// cross-origin browser access, bounded bodies, messages, rates and queues.
public struct GatewayConfiguration: Sendable {
    /// What happens to a WebSocket or SSE client that cannot keep up.
    public enum SlowConsumerAction: String, Sendable, CaseIterable {
        /// Drop the oldest queued messages and tell the client how many (it can resume from an
        /// earlier cursor to get them).
        case dropOldest = "drop-oldest"
        /// Close the connection with 1013 (try again later); the client resumes from its cursor.
        case close
    }

    /// Address to listen on. Default: `127.0.0.1`.
    public var host: String
    /// Port; 0 picks a free one. Default: 8080.
    public var port: Int
    /// Origins browsers may call from (`https://app.example.com`), or `*` written out for any.
    /// Default: none — no cross-origin browser access.
    public var allowedOrigins: [String]
    /// A bootstrap admin key accepted besides the keys in `tributary.keys` (how the first key is
    /// created). Default: none.
    public var adminKey: String?
    /// Largest request body. Default: 16 MiB (function modules travel base64-encoded).
    public var maxBodyBytes: Int
    /// Largest WebSocket message from a client. Default: 64 KiB.
    public var maxMessageBytes: Int
    /// Sustained requests per second per key. Default: 50.
    public var requestsPerSecond: Double
    /// Requests a key may make in a burst above the sustained rate. Default: 100.
    public var requestBurst: Int
    /// Open WebSocket and SSE connections per key. Default: 64.
    public var connectionsPerKey: Int
    /// Subscriptions per WebSocket connection. Default: 16.
    public var subscriptionsPerConnection: Int
    /// Messages queued for one connection before the slow-consumer action. Default: 4,096.
    public var maxQueuedMessages: Int
    /// How old the oldest queued message may get before the slow-consumer action. Default: 10 s.
    public var maxQueuedAge: Duration
    /// What to do with a slow consumer. Default: `.close`.
    public var slowConsumerAction: SlowConsumerAction
    /// Interval of heartbeat messages on idle streams. Default: 15 s.
    public var heartbeatInterval: Duration
    /// How long `POST /v1/functions/{name}/invoke` waits for the result by default. Default: 10 s.
    public var invokeTimeout: Duration
    /// The longest wait a caller may ask for. Default: 60 s.
    public var maxInvokeTimeout: Duration
    /// Results kept for `GET /v1/invocations/{id}`. Default: 10,000.
    public var recentResults: Int
    /// How records this gateway writes are encoded. Default: `.json`.
    public var encoding: RecordEncoding
    /// Whether caught-up subscriptions share one tail of the topic (true), or every subscription
    /// keeps reading the log on its own — the naive design, kept as the fan-out benchmark's
    /// baseline. Default: true.
    public var sharedTail = true

    /// Creates a configuration; every parameter defaults as documented on its property.
    public init(
        host: String = "127.0.0.1", port: Int = 8080, allowedOrigins: [String] = [], adminKey: String? = nil,
        maxBodyBytes: Int = 16 << 20, maxMessageBytes: Int = 64 << 10, requestsPerSecond: Double = 50,
        requestBurst: Int = 100, connectionsPerKey: Int = 64, subscriptionsPerConnection: Int = 16,
        maxQueuedMessages: Int = 4_096, maxQueuedAge: Duration = .seconds(10),
        slowConsumerAction: SlowConsumerAction = .close, heartbeatInterval: Duration = .seconds(15),
        invokeTimeout: Duration = .seconds(10), maxInvokeTimeout: Duration = .seconds(60), recentResults: Int = 10_000,
        encoding: RecordEncoding = .json
    ) {
        self.host = host
        self.port = port
        self.allowedOrigins = allowedOrigins
        self.adminKey = adminKey
        self.maxBodyBytes = maxBodyBytes
        self.maxMessageBytes = maxMessageBytes
        self.requestsPerSecond = requestsPerSecond
        self.requestBurst = requestBurst
        self.connectionsPerKey = connectionsPerKey
        self.subscriptionsPerConnection = subscriptionsPerConnection
        self.maxQueuedMessages = maxQueuedMessages
        self.maxQueuedAge = maxQueuedAge
        self.slowConsumerAction = slowConsumerAction
        self.heartbeatInterval = heartbeatInterval
        self.invokeTimeout = invokeTimeout
        self.maxInvokeTimeout = maxInvokeTimeout
        self.recentResults = recentResults
        self.encoding = encoding
    }
}
