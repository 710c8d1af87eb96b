import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Where the client commands find the gateway and which key they use.
struct GatewayClientOptions: ParsableArguments {
    @Option(name: .long, help: "Gateway URL (default: $TRIBUTARY_GATEWAY_URL, else http://127.0.0.1:8080).")
    var gateway: String?

    @Option(
        name: .long,
        help: "API key (default: $TRIBUTARY_KEY, else the development key in ./.tributary/dev-admin-key).")
    var key: String?

    func client() throws -> GatewayClient {
        let environment = ProcessInfo.processInfo.environment
        let base = gateway ?? environment["TRIBUTARY_GATEWAY_URL"] ?? "http://127.0.0.1:8080"
        guard let url = URL(string: base), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CommandError(.invalidInput, "--gateway '\(base)': expected a URL such as http://127.0.0.1:8080")
        }
        let key =
            key ?? environment["TRIBUTARY_KEY"]
            ?? (try? String(contentsOfFile: ".tributary/dev-admin-key", encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines)
        return GatewayClient(base: url, key: key)
    }
}

/// A small HTTP client for the gateway's REST API and SSE stream (Foundation's URLSession: the
/// CLI does not pull in a second HTTP stack). Errors become one line a user can act on.
struct GatewayClient: Sendable {
    let base: URL
    let key: String?

    struct Reply {
        var status: Int
        var body: Data
        var object: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
    }

    /// Sends a request and returns the reply, throwing for anything but 2xx.
    func send(_ method: String, _ path: String, json: Any? = nil, body: Data? = nil) async throws -> Reply {
        var request = URLRequest(url: try url(path))
        request.httpMethod = method
        request.timeoutInterval = 90
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw CommandError(
                .unavailable,
                "cannot reach the gateway at \(base.absoluteString) (\(error.localizedDescription)); is `tributary dev` running? (--gateway or TRIBUTARY_GATEWAY_URL)"
            )
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let reply = Reply(status: status, body: data)
        guard (200..<300).contains(status) else { throw error(for: reply) }
        return reply
    }

    /// `path` (with its query, already percent-encoded) under the gateway's URL.
    private func url(_ path: String) throws -> URL {
        var text = base.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text + path) else {
            throw CommandError(.invalidInput, "cannot build a URL from \(path)")
        }
        return url
    }

    private func error(for reply: Reply) -> CommandError {
        let error = reply.object["error"] as? [String: Any]
        let message = error?["message"] as? String ?? String(decoding: reply.body.prefix(300), as: UTF8.self)
        switch reply.status {
        case 401:
            return CommandError(
                .invalidInput,
                "the gateway refused the key: \(message) (pass --key or set TRIBUTARY_KEY; \(key == nil ? "no key was found" : "a key was sent"))"
            )
        case 403: return CommandError(.invalidInput, "the key may not do this: \(message)")
        default: return CommandError(.invalidInput, "the gateway answered \(reply.status): \(message)")
        }
    }

    /// Reads an SSE stream, calling `onEvent` with each event's type and data until it returns
    /// false or the stream ends.
    func stream(_ path: String, onEvent: @escaping @Sendable (String, String) -> Bool) async throws {
        var request = URLRequest(url: try url(path))
        request.timeoutInterval = 3_600
        if let key { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let reader = SSEReader(onEvent: onEvent)
        let session = URLSession(configuration: .default, delegate: reader, delegateQueue: nil)
        defer { session.invalidateAndCancel() }
        let task = session.dataTask(with: request)
        task.resume()
        let outcome = await reader.finished()
        switch outcome {
        case .failed(let error):
            throw CommandError(
                .unavailable,
                "cannot reach the gateway at \(base.absoluteString) (\(error.localizedDescription)); is `tributary dev` running?"
            )
        case .refused(let status, let body):
            throw self.error(for: Reply(status: status, body: body))
        case .done:
            task.cancel()
        }
    }
}

/// Splits an SSE byte stream into events (URLSession on Linux has no async byte stream).
private final class SSEReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Outcome: Sendable {
        case done
        case failed(any Error)
        case refused(Int, Data)
    }

    // Touched only on the session's serial delegate queue, and `finished` through the lock.
    private var buffer = Data()
    private var status = 0
    private var refusedBody = Data()
    private var outcome: Outcome?
    private var stopped = false
    private var waiter: CheckedContinuation<Outcome, Never>?
    private let lock = NSLock()
    private let onEvent: @Sendable (String, String) -> Bool

    init(onEvent: @escaping @Sendable (String, String) -> Bool) { self.onEvent = onEvent }

    func finished() async -> Outcome {
        await withCheckedContinuation { continuation in
            lock.lock()
            if let outcome {
                lock.unlock()
                continuation.resume(returning: outcome)
            } else {
                waiter = continuation
                lock.unlock()
            }
        }
    }

    private func finish(_ result: Outcome) {
        lock.lock()
        guard outcome == nil else {
            lock.unlock()
            return
        }
        outcome = result
        let waiter = waiter
        self.waiter = nil
        lock.unlock()
        waiter?.resume(returning: result)
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard !stopped else { return }  // data already in flight when the caller stopped
        guard status == 200 else {
            refusedBody.append(data)
            return
        }
        buffer.append(data)
        while let range = buffer.range(of: Data("\n\n".utf8)) {
            let block = String(decoding: buffer[buffer.startIndex..<range.lowerBound], as: UTF8.self)
            buffer.removeSubrange(buffer.startIndex..<range.upperBound)
            var type = "message"
            var lines: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { lines.append(String(line.dropFirst(6))) }
            }
            guard !lines.isEmpty else { continue }
            if !onEvent(type, lines.joined(separator: "\n")) {
                stopped = true
                finish(.done)
                dataTask.cancel()
                return
            }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if status != 0 && status != 200 {
            finish(.refused(status, refusedBody))
        } else if let error, (error as NSError).code != NSURLErrorCancelled {
            finish(.failed(error))
        } else {
            finish(.done)
        }
    }
}
