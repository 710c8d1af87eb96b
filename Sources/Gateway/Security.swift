import Crypto
import EventLog
import Foundation
import Hummingbird
import Synchronization
import TributaryModel

/// What an API key may do. `admin` implies every other scope.
public enum APIScope: String, Sendable, CaseIterable, Codable {
    case eventsRead = "events:read"
    case resultsRead = "results:read"
    case functionsWrite = "functions:write"
    case admin
}

/// The caller a request was authenticated as.
struct Principal: Sendable {
    /// The key's id (`bootstrap` for the configured admin key); never the secret.
    let id: String
    let scopes: Set<APIScope>
    /// Origins this key may be used from in a browser; empty means the gateway's list.
    let allowedOrigins: Set<String>

    func has(_ scope: APIScope) -> Bool { scopes.contains(.admin) || scopes.contains(scope) }
}

/// API key secrets: generated with the system's secure random source and stored only as their
/// SHA-256.
public enum APIKeySecret {
    /// A new secret: `trb_` and 32 random bytes in hex.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return "trb_"
            + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }
            .joined()
    }

    /// A new key id: 12 hex digits.
    static func generateID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<6).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// Lowercase hex SHA-256.
    static func sha256(_ bytes: some DataProtocol) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// Origins as the gateway compares them: lowercased, without a trailing slash.
struct OriginPolicy: Sendable {
    let allowsAny: Bool
    let origins: Set<String>

    init(_ list: [String]) {
        let normalized = list.map(Self.normalize).filter { !$0.isEmpty }
        allowsAny = normalized.contains("*")
        origins = Set(normalized.filter { $0 != "*" })
    }

    func allows(_ origin: String) -> Bool { allowsAny || origins.contains(Self.normalize(origin)) }

    static func normalize(_ origin: String) -> String {
        var text = origin.trimmingCharacters(in: .whitespaces).lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

/// Authenticates requests against the keys in `tributary.keys` (and the bootstrap key), checks
/// scopes and per-key origins, and applies per-key rate and connection limits.
final class Gatekeeper: Sendable {
    private struct Index {
        var version = -1
        var bySecretHash: [String: Principal] = [:]
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let keys: CompactedTopicFollower
    private let bootstrapHash: String?
    let origins: OriginPolicy
    private let configuration: GatewayConfiguration
    private let index = Mutex(Index())
    private let buckets = Mutex<[String: Bucket]>([:])
    private let connections = Mutex<[String: Int]>([:])

    init(keys: CompactedTopicFollower, configuration: GatewayConfiguration) {
        self.keys = keys
        self.configuration = configuration
        origins = OriginPolicy(configuration.allowedOrigins)
        bootstrapHash = configuration.adminKey.map { APIKeySecret.sha256(Array($0.utf8)) }
    }

    /// The key a request carries: `Authorization: Bearer …`, or for browsers' WebSockets a
    /// `tributary.key.…` entry in `Sec-WebSocket-Protocol`.
    static func presentedKey(in headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        for field in headers[values: .secWebSocketProtocol] {
            for item in field.split(separator: ",") {
                let token = item.trimmingCharacters(in: .whitespaces)
                if token.hasPrefix(Self.protocolKeyPrefix) {
                    return String(token.dropFirst(Self.protocolKeyPrefix.count))
                }
            }
        }
        return nil
    }

    static let protocolKeyPrefix = "tributary.key."

    /// The origin a browser sent; nil for non-browser clients.
    ///
    /// Browsers send the page's `http(s)://` origin (or `null`); an `Origin` with another scheme
    /// (WebSocket client libraries send `ws://host`) cannot come from a browser page, so it is
    /// ignored: such clients are held to their API key, as clients without an `Origin` are.
    ///
    /// - Throws: 400 when a request carries more than one browser origin (no browser does).
    static func origin(of headers: HTTPFields) throws -> String? {
        let values = headers[values: .origin].filter { value in
            let lowered = value.lowercased()
            return lowered.hasPrefix("http://") || lowered.hasPrefix("https://") || lowered == "null"
        }
        guard values.count <= 1 else {
            throw GatewayError.badRequest("more than one Origin header")
        }
        return values.first
    }

    /// Authenticates `headers` for `scope`.
    ///
    /// - Throws: 401 for a missing or unknown key, 403 for a missing scope or an origin the key
    ///   may not be used from, 429 when the key is over its rate.
    @discardableResult
    func authorize(_ headers: HTTPFields, for scope: APIScope) throws -> Principal {
        try authorize(headers, needing: scope.rawValue) { $0.has(scope) }
    }

    /// Authenticates a stream connection: the key needs `events:read` or `results:read`
    /// (each subscription then checks its own).
    @discardableResult
    func authorizeStream(_ headers: HTTPFields) throws -> Principal {
        try authorize(headers, needing: "events:read or results:read") { $0.has(.eventsRead) || $0.has(.resultsRead) }
    }

    private func authorize(
        _ headers: HTTPFields, needing: String, _ permitted: (Principal) -> Bool
    ) throws
        -> Principal
    {
        guard let secret = Self.presentedKey(in: headers), !secret.isEmpty else {
            var error = GatewayError(
                .unauthorized, .unauthorized,
                "this route needs an API key: send 'Authorization: Bearer <key>' (create keys with POST /v1/keys)")
            error.headers[.wwwAuthenticate] = "Bearer"
            throw error
        }
        guard let principal = principal(forSecret: secret) else {
            var error = GatewayError(
                .unauthorized, .unauthorized, "the API key is not valid: it is mistyped or revoked")
            error.headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\""
            throw error
        }
        guard permitted(principal) else {
            throw GatewayError(
                .forbidden, .forbidden,
                "key \(principal.id) lacks the scope \(needing) (it has \(principal.scopes.map(\.rawValue).sorted().joined(separator: ", ")))"
            )
        }
        if let origin = try Self.origin(of: headers), !principal.allowedOrigins.isEmpty,
            !principal.allowedOrigins.contains(OriginPolicy.normalize(origin))
        {
            throw GatewayError(.forbidden, .originNotAllowed, "key \(principal.id) may not be used from \(origin)")
        }
        try takeToken(for: principal)
        return principal
    }

    /// Whether the key in `headers` is still valid (not revoked); takes no rate token.
    func isValid(_ headers: HTTPFields) -> Bool {
        guard let secret = Self.presentedKey(in: headers) else { return false }
        return principal(forSecret: secret) != nil
    }

    private func principal(forSecret secret: String) -> Principal? {
        let hash = APIKeySecret.sha256(Array(secret.utf8))
        if let bootstrapHash, hash == bootstrapHash {
            return Principal(id: "bootstrap", scopes: [.admin], allowedOrigins: [])
        }
        let snapshot = keys.snapshot
        return index.withLock { index in
            if index.version != snapshot.version {
                index.bySecretHash = [:]
                for stored in snapshot.view.values.values {
                    guard let value = stored.value,
                        let record = try? RecordEncoding.decode(
                            Tributary_V1_ApiKeyRecord.self, from: value, contentType: stored.contentType),
                        !record.hasRevokedAt
                    else { continue }
                    index.bySecretHash[record.secretSha256] = Principal(
                        id: record.id, scopes: Set(record.scopes.compactMap(APIScope.init(rawValue:))),
                        allowedOrigins: Set(record.allowedOrigins.map(OriginPolicy.normalize)))
                }
                index.version = snapshot.version
            }
            return index.bySecretHash[hash]
        }
    }

    /// Token bucket per key: `requestsPerSecond` sustained, `requestBurst` at once.
    private func takeToken(for principal: Principal) throws {
        let now = ContinuousClock.now
        let rate = configuration.requestsPerSecond
        let burst = Double(configuration.requestBurst)
        let wait: Double? = buckets.withLock { buckets in
            var bucket = buckets[principal.id] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated).secondsValue * rate)
            bucket.updated = now
            defer { buckets[principal.id] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
            bucket.tokens -= 1
            return nil
        }
        if let wait {
            var error = GatewayError(
                .tooManyRequests, .rateLimited,
                "key \(principal.id) is over its limit of \(Int(rate)) requests per second; retry later")
            error.headers[.retryAfter] = "\(max(1, Int(wait.rounded(.up))))"
            throw error
        }
    }

    /// Counts a stream connection for `principal`; the returned closure releases it.
    ///
    /// - Throws: 429 when the key already has `connectionsPerKey` streams open.
    func openConnection(for principal: Principal) throws -> @Sendable () -> Void {
        let limit = configuration.connectionsPerKey
        let admitted = connections.withLock { connections in
            let open = connections[principal.id] ?? 0
            guard open < limit else { return false }
            connections[principal.id] = open + 1
            return true
        }
        guard admitted else {
            throw GatewayError(
                .tooManyRequests, .tooManyConnections,
                "key \(principal.id) already has \(limit) streams open; close one first")
        }
        return { [self] in
            connections.withLock { connections in
                connections[principal.id] = max(0, (connections[principal.id] ?? 1) - 1)
            }
        }
    }
}

/// CORS and the origin check for REST: a browser request from an origin not on the list is
/// refused before anything else runs (so it cannot cause side effects), preflights are answered
/// here, and allowed origins get `Access-Control-Allow-Origin` echoed.
struct OriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let policy: OriginPolicy
    let allowHeaders = "authorization, content-type, last-event-id"
    let allowMethods = "GET, POST, DELETE, OPTIONS"

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        guard let origin = try Gatekeeper.origin(of: request.headers) else {
            return try await next(request, context)
        }
        guard policy.allows(origin) else {
            throw GatewayError(
                .forbidden, .originNotAllowed,
                "origin \(origin) is not allowed; the operator lists allowed origins with --allowed-origins (gateway.allowedOrigins)"
            )
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: origin, .accessControlAllowMethods: allowMethods,
                    .accessControlAllowHeaders: allowHeaders, .accessControlMaxAge: "600", .vary: "Origin",
                ])
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Rendered here so that the page can read the error too.
            response = try error.response(from: request, context: context)
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        return response
    }
}
