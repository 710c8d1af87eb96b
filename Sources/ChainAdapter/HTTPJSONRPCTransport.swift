import AsyncHTTPClient
import EventLog
import Foundation
import NIOCore
import NIOHTTP1

/// Sends JSON-RPC bodies over HTTP(S) with AsyncHTTPClient and classifies transport failures:
/// HTTP 429 (with `Retry-After`), other HTTP errors, timeouts, unreachable hosts.
final class HTTPJSONRPCTransport: Sendable {
    private let client: HTTPClient
    private let timeout: Duration

    /// One client for the process, like `HTTPClient.shared` (its pool lives as long as the
    /// process, so none is dropped without a shutdown), but failing fast when an endpoint cannot
    /// be reached: the ``EndpointPool`` fails over itself, while AsyncHTTPClient's default retries
    /// a refused connection until the request's deadline.
    private static let sharedClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Creates a transport on the process-wide client.
    init(timeout: Duration) {
        client = Self.sharedClient
        self.timeout = timeout
    }

    /// POSTs `body` to `endpoint` and returns the response body.
    ///
    /// - Throws: ``ChainAdapterError`` `.rateLimited` (429, `retryAfter` from the header),
    ///   `.unavailable` (other HTTP errors, connection failures), `.timeout`.
    func post(_ body: [UInt8], to endpoint: JSONRPCEndpoint) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(
                request, timeout: TimeAmount.nanoseconds(Int64(timeout.wholeNanoseconds)))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw ChainAdapterError(.timeout, "\(endpoint.redacted) did not answer within \(timeout)")
        } catch {
            throw ChainAdapterError(.unavailable, "\(endpoint.redacted) cannot be reached: \(error)")
        }
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: 256 << 20)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw ChainAdapterError(.timeout, "\(endpoint.redacted) did not finish its answer within \(timeout)")
        } catch {
            throw ChainAdapterError(.unavailable, "\(endpoint.redacted): reading the answer failed: \(error)")
        }
        if response.status == .tooManyRequests {
            let retryAfter = response.headers.first(name: "retry-after").flatMap(Self.retryAfter)
            throw ChainAdapterError(
                .rateLimited, "\(endpoint.redacted) answered 429 Too Many Requests",
                retryAfter: retryAfter ?? .seconds(1))
        }
        guard (200..<300).contains(response.status.code) else {
            throw ChainAdapterError(.unavailable, "\(endpoint.redacted) answered HTTP \(response.status.code)")
        }
        return Array(buffer: bytes)
    }

    /// `Retry-After` as seconds or an HTTP date.
    static func retryAfter(_ value: String) -> Duration? {
        if let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 {
            return .milliseconds(Int64(min(seconds, 3600) * 1000))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(max(0, min(3600, date.timeIntervalSinceNow)) * 1000))
    }

    /// Nothing to release: the shared client outlives every transport.
    func shutdown() async {}
}
