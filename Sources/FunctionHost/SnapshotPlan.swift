import WasmParser

/// How a raw-ABI module's instances are reused: its state right after instantiation (linear
/// memory and every mutable global) is what each invocation starts from, restored after every run.
///
/// WasmKit's public API reaches only exported globals, and clang-built guests keep
/// `__stack_pointer` (others keep heap tops and counters) in globals they do not export. So at deploy
/// the module is rewritten to also export every mutable global it defines under a reserved name;
/// nothing else in the module changes. Modules whose state is not only memory and globals — those
/// that mutate tables or drop segments, import memories or globals, or have several memories — are
/// not reused: each of their invocations gets a fresh instance instead (docs/function-abi.md).
struct SnapshotPlan: Sendable {
    /// The export names under which the module's mutable globals are reachable.
    let globalExports: [String]
    /// The rewritten module binary.
    let bytes: [UInt8]

    /// The prefix of the exports the rewrite adds; modules may not use it themselves.
    static let exportPrefix = "__tributary_snapshot_global_"

    /// The plan for `bytes`, or why its instances cannot be reused.
    static func make(for bytes: [UInt8]) -> Result<SnapshotPlan, NotReusable> {
        do {
            let scan = try ModuleScan(bytes: bytes)
            if let reason = scan.reasonNotReusable { return .failure(NotReusable(reason: reason)) }
            let names = scan.mutableGlobals.map { "\(exportPrefix)\($0)" }
            return .success(
                SnapshotPlan(globalExports: names, bytes: try rewrite(bytes, exporting: scan.mutableGlobals)))
        } catch {
            return .failure(NotReusable(reason: "\(error)"))
        }
    }

    /// Why a module's instances are not reused.
    struct NotReusable: Error, Sendable {
        let reason: String
    }

    /// `bytes` with its export section extended by one global export per index in `globals`.
    private static func rewrite(_ bytes: [UInt8], exporting globals: [UInt32]) throws -> [UInt8] {
        var cursor = 8  // magic and version
        var output = Array(bytes[0..<8])
        var rewroteExports = false
        while cursor < bytes.count {
            let id = bytes[cursor]
            let (size, sizeLength) = try LEB128.readUInt32(bytes, at: cursor + 1)
            let contentStart = cursor + 1 + sizeLength
            let contentEnd = contentStart + Int(size)
            guard contentEnd <= bytes.count else { throw SectionError(message: "section \(id) runs past the end") }
            if id == 7 {
                let (count, countLength) = try LEB128.readUInt32(bytes, at: contentStart)
                var content = LEB128.encode(count + UInt32(globals.count))
                content += bytes[(contentStart + countLength)..<contentEnd]
                for index in globals {
                    let name = Array("\(exportPrefix)\(index)".utf8)
                    content += LEB128.encode(UInt32(name.count)) + name + [0x03] + LEB128.encode(index)
                }
                output += [7] + LEB128.encode(UInt32(content.count)) + content
                rewroteExports = true
            } else {
                output += bytes[cursor..<contentEnd]
            }
            cursor = contentEnd
        }
        // Raw-ABI modules always export their memory and entry, so the section exists.
        guard rewroteExports else { throw SectionError(message: "the module has no export section") }
        return output
    }

    private struct SectionError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

/// What the snapshot plan needs to know about a module, read with WasmKit's parser.
private struct ModuleScan {
    /// Indices (in the global index space) of the mutable globals the module defines.
    var mutableGlobals: [UInt32] = []
    var reasonNotReusable: String?

    init(bytes: [UInt8]) throws {
        var parser = Parser(bytes: bytes)
        var importedGlobals: UInt32 = 0
        var memories = 0
        while let payload = try parser.parseNext() {
            switch payload {
            case .importSection(let imports):
                for entry in imports {
                    switch entry.descriptor {
                    case .function: break
                    case .global: importedGlobals += 1
                    default: refuse("it imports \(entry.module).\(entry.name), which is not a function")
                    }
                }
            case .memorySection(let declared):
                memories += declared.count
            case .globalSection(let globals):
                for (offset, global) in globals.enumerated() where global.type.mutability == .variable {
                    switch global.type.valueType {
                    case .i32, .i64, .f32, .f64:
                        mutableGlobals.append(importedGlobals + UInt32(offset))
                    default:
                        refuse("it has a mutable \(global.type.valueType) global")
                    }
                }
            case .exportSection(let exports):
                if let clash = exports.first(where: { $0.name.hasPrefix(SnapshotPlan.exportPrefix) }) {
                    refuse("it exports '\(clash.name)', a name the host reserves")
                }
            case .codeSection(let bodies):
                var finder = StateMutationFinder()
                for body in bodies where finder.found == nil {
                    var expression = ExpressionParser(code: body)
                    while let instruction = try expression.parse() {
                        instruction(visitor: &finder)
                    }
                }
                if let found = finder.found {
                    refuse("it uses \(found), which changes state outside memory and globals")
                }
            default:
                break
            }
        }
        if importedGlobals > 0 { refuse("it imports globals") }
        if memories > 1 { refuse("it has \(memories) memories") }
    }

    private mutating func refuse(_ reason: String) {
        if reasonNotReusable == nil { reasonNotReusable = reason }
    }
}

/// Finds the first instruction that changes instance state a snapshot of memory and globals does
/// not cover: tables and dropped segments.
private struct StateMutationFinder: AnyInstructionVisitor {
    typealias VisitorError = Never
    var binaryOffset = 0
    var found: String?

    mutating func visit(_ instruction: Instruction) {
        guard found == nil else { return }
        switch instruction {
        case .tableSet: found = "table.set"
        case .tableGrow: found = "table.grow"
        case .tableFill: found = "table.fill"
        case .tableCopy: found = "table.copy"
        case .tableInit: found = "table.init"
        case .elemDrop: found = "elem.drop"
        case .dataDrop: found = "data.drop"
        default: break
        }
    }
}

/// Unsigned LEB128, as the binary format encodes sizes, counts and indices.
private enum LEB128 {
    static func readUInt32(_ bytes: [UInt8], at start: Int) throws -> (UInt32, Int) {
        var value: UInt32 = 0
        var shift: UInt32 = 0
        var index = start
        while index < bytes.count, shift < 35 {
            let byte = bytes[index]
            value |= UInt32(byte & 0x7F) << shift
            index += 1
            if byte & 0x80 == 0 { return (value, index - start) }
            shift += 7
        }
        throw SnapshotPlan.NotReusable(reason: "a malformed LEB128 number at byte \(start)")
    }

    static func encode(_ value: UInt32) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value != 0
        return bytes
    }
}
