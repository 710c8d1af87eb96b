import Foundation
import Hummingbird

/// An error the gateway answers with: an HTTP status, a stable machine-readable code and a
/// message a user can act on, as `{"error": {"code": …, "message": …}}`.
public struct GatewayError: Error, Sendable, HTTPResponseError, CustomStringConvertible {
    /// Stable error codes (docs/api.md lists them).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let description: String
        private init(_ name: String) { description = name }
        public static let badRequest = Code("bad_request")
        public static let invalidJSON = Code("invalid_json")
        public static let invalidFunction = Code("invalid_function")
        public static let invalidTrigger = Code("invalid_trigger")
        public static let unauthorized = Code("unauthorized")
        public static let forbidden = Code("forbidden")
        public static let originNotAllowed = Code("origin_not_allowed")
        public static let notFound = Code("not_found")
        public static let methodNotAllowed = Code("method_not_allowed")
        public static let payloadTooLarge = Code("payload_too_large")
        public static let rateLimited = Code("rate_limited")
        public static let tooManyConnections = Code("too_many_connections")
        public static let unavailable = Code("unavailable")
        public static let `internal` = Code("internal")
    }

    public let status: HTTPResponse.Status
    public let code: Code
    public let message: String
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: Code, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// The message alone: what a user reads when a command fails on it.
    public var description: String { message }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The JSON body.
    var body: [UInt8] {
        let object: [String: Any] = ["error": ["code": code.description, "message": message]]
        return Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    static func badRequest(_ message: String) -> GatewayError { GatewayError(.badRequest, .badRequest, message) }
    static func notFound(_ message: String) -> GatewayError { GatewayError(.notFound, .notFound, message) }
}

/// Turns every error into the JSON error shape: ours as they are, Hummingbird's by status, and
/// anything else into a 500 whose message names only a reference logged with the details, so
/// internals never leak.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as GatewayError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                throw GatewayError.notFound("no route \(request.method) \(request.uri.path); see /v1/openapi.json")
            case .methodNotAllowed:
                throw GatewayError(
                    .methodNotAllowed, .methodNotAllowed, "\(request.method) is not allowed on \(request.uri.path)")
            case .contentTooLarge:
                throw GatewayError(.contentTooLarge, .payloadTooLarge, "the request body is too large")
            case .unauthorized:
                throw GatewayError(error.status, .unauthorized, error.body ?? error.status.reasonPhrase)
            case .forbidden:
                throw GatewayError(error.status, .forbidden, error.body ?? error.status.reasonPhrase)
            case .tooManyRequests:
                throw GatewayError(error.status, .rateLimited, error.body ?? error.status.reasonPhrase)
            case let status where status.code >= 500:
                throw GatewayError(.internalServerError, .internal, "internal error")
            default:
                throw GatewayError(error.status, .badRequest, error.body ?? error.status.reasonPhrase)
            }
        } catch {
            let reference = UUID().uuidString.prefix(8).lowercased()
            context.logger.error(
                "request failed",
                metadata: ["reference": "\(reference)", "path": "\(request.uri.path)", "error": "\(error)"])
            throw GatewayError(.internalServerError, .internal, "internal error (reference \(reference))")
        }
    }
}

extension GatewayError {
    /// A server of this module (`what`) could not bind `host`:`port`; `setting` is the key to change.
    static func portInUse(_ what: String, host: String, port: Int, setting: String) -> GatewayError {
        GatewayError(
            .serviceUnavailable, .unavailable,
            "the \(what) cannot listen on \(host):\(port): the port is in use (set \(setting), or stop the other process)"
        )
    }
}
