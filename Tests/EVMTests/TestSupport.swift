import EVM
import Foundation
import Testing

/// Decodes hex in tests; a bad literal is a test bug, reported as a test failure.
func hex(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8] {
    do {
        return try Hex.decode(text, requirePrefix: false)
    } catch {
        Issue.record("bad hex literal in test: \(error)", sourceLocation: sourceLocation)
        return []
    }
}

/// A 32-byte word holding `value` right-aligned.
func word(_ value: UInt64) -> [UInt8] {
    [UInt8](repeating: 0, count: 24) + (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) }
}

/// Golden fixtures committed with the tests (Tests/Fixtures, real mainnet data; see
/// Tests/Fixtures/mainnet/PROVENANCE.md), located relative to this file.
enum Fixtures {
    static let root: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent()  // EVMTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures")

    /// The fixture file's contents, or a test failure naming the missing path.
    static func data(_ relativePath: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Data {
        let url = root.appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: url.path) else {
            Issue.record(
                "fixture missing: \(url.path) — Tests/Fixtures is part of the repository",
                sourceLocation: sourceLocation)
            throw CocoaError(.fileNoSuchFile)
        }
        return try Data(contentsOf: url)
    }

    static func text(_ relativePath: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        String(decoding: try data(relativePath, sourceLocation: sourceLocation), as: UTF8.self)
    }

    /// File names in a fixture folder.
    static func files(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path).sorted()
    }
}

/// Expects `body` to throw an ``EVMError`` with `code`, optionally with `fragment` in its reason.
@discardableResult
func expectEVMError<T>(
    _ code: EVMError.Code, reasonContains fragment: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T
) -> EVMError? {
    do {
        let value = try body()
        Issue.record("expected EVMError(\(code)), got a value: \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as EVMError {
        #expect(error.code == code, "reason: \(error.reason)", sourceLocation: sourceLocation)
        if let fragment {
            #expect(error.reason.contains(fragment), "reason: \(error.reason)", sourceLocation: sourceLocation)
        }
        return error
    } catch {
        Issue.record("expected EVMError(\(code)), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
