import Foundation
import FunctionHost
import NIOHTTP1
import Testing
import TributaryModel
import WAT

@testable import Gateway

/// The REST API against a live gateway on 127.0.0.1 with a real HTTP client.
@Suite struct RESTTests {
    /// Echoes its input (pulled with get_input) as its output.
    static let echoModule = """
        (module
          (import "tributary" "input_len" (func $input_len (result i32)))
          (import "tributary" "get_input" (func $get_input (param i32)))
          (import "tributary" "set_output" (func $set_output (param i32 i32)))
          (memory (export "memory") 1)
          (func (export "handle") (param i32 i32) (result i32)
            (call $get_input (i32.const 0))
            (call $set_output (i32.const 0) (call $input_len)) (i32.const 0)))
        """

    static func deployment(_ name: String, wat: String = echoModule) throws -> [String: Any] {
        [
            "name": name, "module": Data(try wat2wasm(wat)).base64EncodedString(),
            "manifest": ["abi": "FUNCTION_ABI_RAW"],
        ]
    }

    @Test func healthReadinessAndTheOpenAPIDocumentMatchTheRoutes() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        #expect(try await gateway.request(.GET, "/healthz", key: nil).status == 200)
        let ready = try await gateway.request(.GET, "/readyz", key: nil)
        #expect(ready.status == 200 || ready.status == 503)
        let metrics = try await gateway.request(.GET, "/metrics")
        #expect(
            metrics.status == 200 && String(decoding: metrics.body, as: UTF8.self).contains("tributary_test_total 1"))
        #expect(metrics.headers["Content-Type"].first?.hasPrefix("text/plain") == true)
        #expect(try await gateway.request(.GET, "/metrics", key: nil).status == 401)
        let document = try await gateway.request(.GET, "/v1/openapi.json", key: nil)
        #expect(document.status == 200 && document.json["openapi"] as? String == "3.1.0")
        let paths = try #require(document.json["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        let served = Set(
            gateway.service.routeTable.routes.map { route in
                let path = route.path.split(separator: "/").map {
                    $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
                }
                return "\(route.method) /" + path.joined(separator: "/")
            })
        #expect(
            documented == served,
            "documented but not served: \(documented.subtracting(served)); served but not documented: \(served.subtracting(documented))"
        )
        // Every documented route answers (no "no route" 404) with a made-up path parameter.
        for entry in documented where !entry.hasPrefix("GET /v1/stream") {
            let parts = entry.split(separator: " ")
            let path = parts[1].replacingOccurrences(of: "{name}", with: "x").replacingOccurrences(
                of: "{id}", with: "x")
            let reply = try await gateway.request(
                HTTPMethod(rawValue: String(parts[0])), path, json: [:] as [String: Any])
            #expect(!reply.errorMessage.hasPrefix("no route"), "\(entry)")
        }
    }

    @Test func keysAreRequiredCheckedAndScoped() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let missing = try await gateway.request(.GET, "/v1/functions", key: nil)
        #expect(
            missing.status == 401 && missing.errorCode == "unauthorized"
                && missing.headers["WWW-Authenticate"].first == "Bearer")
        let wrong = try await gateway.request(.GET, "/v1/functions", key: "trb_not_a_key")
        #expect(wrong.status == 401 && wrong.errorMessage.contains("not valid"))
        let reader = try await gateway.createKey(["events:read"])
        let forbidden = try await gateway.request(.GET, "/v1/functions", key: reader)
        #expect(
            forbidden.status == 403 && forbidden.errorCode == "forbidden"
                && forbidden.errorMessage.contains("functions:write"))
        let writer = try await gateway.createKey(["functions:write"])
        #expect(try await gateway.request(.GET, "/v1/functions", key: writer).status == 200)
        #expect(try await gateway.request(.GET, "/v1/keys", key: writer).status == 403)

        // Listing shows no secret and no hash; revoking makes the key useless at once.
        let listed = try await gateway.request(.GET, "/v1/keys")
        let keys = try #require(listed.json["keys"] as? [[String: Any]])
        #expect(keys.count == 2 && keys.allSatisfy { $0["secretSha256"] == nil && $0["key"] == nil })
        #expect(!String(decoding: listed.body, as: UTF8.self).contains(writer))
        let writerID = try #require(keys.first { ($0["scopes"] as? [String]) == ["functions:write"] }?["id"] as? String)
        let revoked = try await gateway.request(.DELETE, "/v1/keys/\(writerID)")
        #expect(revoked.status == 200 && revoked.json["revokedAt"] != nil)
        #expect(try await gateway.request(.GET, "/v1/functions", key: writer).status == 401)
        // Stored hashed: the log holds the SHA-256, never the secret.
        let stored = try await gateway.log.describeTopic(StandardTopic.apiKeys.name)
        #expect(stored.partitions.reduce(0) { $0 + $1.endOffset } >= 3)
        let bad = try await gateway.request(.POST, "/v1/keys", json: ["name": "x", "scopes": ["root"]])
        #expect(bad.status == 400 && bad.errorMessage.contains("'root' is not a scope"))
    }

    @Test func originsArePolicedForCORSAndPerKey() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let preflight = try await gateway.request(
            .OPTIONS, "/v1/functions", key: nil,
            headers: [("Origin", "https://app.example"), ("Access-Control-Request-Method", "GET")])
        #expect(preflight.status == 204)
        #expect(preflight.headers["Access-Control-Allow-Origin"].first == "https://app.example")
        #expect(preflight.headers["Access-Control-Allow-Headers"].first?.contains("authorization") == true)
        let refusedPreflight = try await gateway.request(
            .OPTIONS, "/v1/functions", key: nil,
            headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "GET")])
        #expect(refusedPreflight.status == 403 && refusedPreflight.headers["Access-Control-Allow-Origin"].isEmpty)
        // A refused origin never reaches the route, even with a valid key (no side effects).
        let refused = try await gateway.request(
            .POST, "/v1/keys", json: ["name": "x", "scopes": ["admin"]], headers: [("Origin", "https://evil.example")])
        #expect(refused.status == 403 && refused.errorCode == "origin_not_allowed")
        #expect((try await gateway.request(.GET, "/v1/keys").json["keys"] as? [Any])?.isEmpty == true)
        let allowed = try await gateway.request(.GET, "/v1/functions", headers: [("Origin", "https://app.example")])
        #expect(allowed.status == 200 && allowed.headers["Access-Control-Allow-Origin"].first == "https://app.example")
        // Errors for allowed origins carry the CORS headers, so the page can read them.
        let notFound = try await gateway.request(
            .GET, "/v1/functions/nope", headers: [("Origin", "https://app.example")])
        #expect(
            notFound.status == 404 && notFound.headers["Access-Control-Allow-Origin"].first == "https://app.example")
        // A key limited to other origins cannot be used from this one.
        let narrow = try await gateway.createKey(["functions:write"], origins: ["https://other.example"])
        let narrowed = try await gateway.request(
            .GET, "/v1/functions", key: narrow, headers: [("Origin", "https://app.example")])
        #expect(narrowed.status == 403 && narrowed.errorCode == "origin_not_allowed")
        #expect(try await gateway.request(.GET, "/v1/functions", key: narrow).status == 200)
        let twoOrigins = try await gateway.request(
            .GET, "/v1/functions", headers: [("Origin", "https://app.example"), ("Origin", "https://evil.example")])
        #expect(twoOrigins.status == 400)
    }

    @Test func functionsAreDeployedVersionedAndDeleted() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let first = try await gateway.request(.POST, "/v1/functions", json: try Self.deployment("echo"))
        #expect(
            first.status == 201 && first.json["version"] as? Int == 1, "\(String(decoding: first.body, as: UTF8.self))")
        #expect((first.json["moduleSha256"] as? String)?.count == 64 && first.json["module"] == nil)
        let second = try await gateway.request(.POST, "/v1/functions", json: try Self.deployment("echo"))
        #expect(second.json["version"] as? Int == 2)
        let got = try await gateway.request(.GET, "/v1/functions/echo")
        #expect(got.json["version"] as? Int == 2 && got.json["versions"] as? [Int] == [1, 2])
        #expect(try await gateway.request(.GET, "/v1/functions/echo?version=1").json["version"] as? Int == 1)
        let listed = try await gateway.request(.GET, "/v1/functions")
        #expect((listed.json["functions"] as? [[String: Any]])?.map { $0["name"] as? String } == ["echo"])

        let invalid = try await gateway.request(
            .POST, "/v1/functions", json: ["name": "bad", "module": Data([0, 1, 2, 3]).base64EncodedString()])
        #expect(invalid.status == 400 && invalid.errorCode == "invalid_function")
        let foreign = try await gateway.request(
            .POST, "/v1/functions",
            json: try Self.deployment(
                "foreign",
                wat:
                    #"(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "handle") (param i32 i32) (result i32) (i32.const 0)))"#
            ))
        #expect(foreign.status == 400 && foreign.errorMessage.contains("env.f"))
        let badName = try await gateway.request(.POST, "/v1/functions", json: try Self.deployment("no spaces"))
        #expect(badName.status == 400)
        let malformed = try await gateway.request(.POST, "/v1/functions", body: Array("{not json".utf8))
        #expect(malformed.status == 400 && malformed.errorCode == "invalid_json")

        #expect(try await gateway.request(.DELETE, "/v1/functions/echo").status == 204)
        #expect(try await gateway.request(.GET, "/v1/functions/echo").status == 404)
        #expect(try await gateway.request(.GET, "/v1/functions/echo?version=1").status == 404)
        #expect(try await gateway.request(.DELETE, "/v1/functions/echo").status == 404)
    }

    @Test func triggersAreValidatedStoredAndTested() async throws {
        let gateway = try await GatewayHarness.start()
        defer { Task { await gateway.stop() } }
        let orphan = try await gateway.request(.POST, "/v1/triggers", json: ["functionName": "nope"])
        #expect(orphan.status == 400 && orphan.errorMessage.contains("not deployed"))
        _ = try await gateway.request(.POST, "/v1/functions", json: try Self.deployment("echo"))
        let badFilter = try await gateway.request(
            .POST, "/v1/triggers", json: ["functionName": "echo", "filter": "block.number >"])
        #expect(badFilter.status == 400 && badFilter.errorCode == "invalid_trigger")
        let trigger: [String: Any] = [
            "id": "big-blocks", "functionName": "echo", "chains": ["eip155:1"], "filter": "block.number > 10",
        ]
        let created = try await gateway.request(.POST, "/v1/triggers", json: trigger)
        #expect(created.status == 201 && created.json["id"] as? String == "big-blocks")
        #expect(
            try await gateway.request(.GET, "/v1/triggers/big-blocks").json["filter"] as? String == "block.number > 10")
        #expect((try await gateway.request(.GET, "/v1/triggers").json["triggers"] as? [Any])?.count == 1)

        let event = try GatewayHarness.event(42).jsonUTF8Data()
        let one = try await gateway.request(
            .POST, "/v1/triggers/test",
            json: ["trigger": trigger, "event": try JSONSerialization.jsonObject(with: event)])
        #expect(one.json["matched"] as? Int == 1, "\(String(decoding: one.body, as: UTF8.self))")
        try await gateway.appendEvents((1...20).map { GatewayHarness.event($0) })
        let recent = try await gateway.request(.POST, "/v1/triggers/test", json: ["trigger": trigger, "recent": 100])
        #expect(recent.json["evaluated"] as? Int == 20 && recent.json["matched"] as? Int == 10)

        // Not objects where objects belong: a clear 400 (and the gateway keeps serving).
        for body in [["trigger": 1], ["trigger": NSNull()], ["trigger": trigger, "event": 5]] as [[String: Any]] {
            let reply = try await gateway.request(.POST, "/v1/triggers/test", json: body)
            #expect(reply.status == 400, "\(body)")
        }
        #expect(try await gateway.request(.DELETE, "/v1/triggers/big-blocks").status == 204)
        #expect(try await gateway.request(.GET, "/v1/triggers/big-blocks").status == 404)
    }

    @Test func invokeWaitsForTheResultFromTheHost() async throws {
        let gateway = try await GatewayHarness.start(runHost: true)
        defer { Task { await gateway.stop() } }
        _ = try await gateway.request(.POST, "/v1/functions", json: try Self.deployment("echo"))
        let invoked = try await gateway.request(
            .POST, "/v1/functions/echo/invoke?timeout=20s", json: ["hello": "world"])
        #expect(invoked.status == 200, "\(String(decoding: invoked.body, as: UTF8.self))")
        #expect(invoked.json["status"] as? String == "INVOCATION_STATUS_OK")
        let output = try #require(Data(base64Encoded: invoked.json["output"] as? String ?? ""))
        let input = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        #expect(
            (input["input"] as? [String: String]) == ["hello": "world"] && input["functionName"] as? String == "echo")
        let id = try #require(invoked.json["invocationId"] as? String)
        #expect(try await gateway.request(.GET, "/v1/invocations/\(id)").json["invocationId"] as? String == id)
        #expect(try await gateway.request(.GET, "/v1/invocations/inv_unknown").status == 404)
        let missing = try await gateway.request(.POST, "/v1/functions/nope/invoke", json: [:] as [String: Any])
        #expect(missing.status == 404)
        let badTimeout = try await gateway.request(
            .POST, "/v1/functions/echo/invoke?timeout=forever", json: [:] as [String: Any])
        #expect(badTimeout.status == 400 && badTimeout.errorMessage.contains("timeout"))
        let overflowing = try await gateway.request(
            .POST, "/v1/functions/echo/invoke?timeout=9223372036854776s", json: [:] as [String: Any])
        #expect(overflowing.status == 400)
    }

    @Test func bodiesAndRatesAreLimited() async throws {
        let gateway = try await GatewayHarness.start {
            $0.maxBodyBytes = 1_024
            $0.requestsPerSecond = 0.01  // no refill within the test, however slow the machine
            $0.requestBurst = 3
        }
        defer { Task { await gateway.stop() } }
        let large = try await gateway.request(
            .POST, "/v1/triggers", body: Array(repeating: UInt8(ascii: " "), count: 4_096))
        #expect(large.status == 413 && large.errorCode == "payload_too_large")
        var statuses: [Int] = []
        var retryAfter: String?
        for _ in 0..<5 {
            let reply = try await gateway.request(.GET, "/v1/functions")
            statuses.append(reply.status)
            if reply.status == 429 { retryAfter = reply.headers["Retry-After"].first }
        }
        #expect(statuses.contains(429) && retryAfter != nil, "\(statuses)")
        #expect(try await gateway.request(.GET, "/healthz", key: nil).status == 200)  // health is never limited
        let unknown = try await gateway.request(.GET, "/v1/nothing-here", key: nil)
        #expect(unknown.status == 404 && unknown.errorCode == "not_found")
    }
}
