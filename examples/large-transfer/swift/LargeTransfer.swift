// large-transfer: alerts on ERC-20 transfers above a threshold (raw ABI, Embedded Swift,
// sdk/swift/Tributary.swift). The same function as ../c/large_transfer.c, with the same output and
// logs for every input.
//
// Trigger it on `erc20.Transfer` (or "Transfer(address indexed from, address indexed to,
// uint256 value)"). The threshold comes from the manifest environment, THRESHOLD: a decimal
// string in the token's base units (default 1000 tokens of 18 decimals).
//
// Output: {"alert":true,"token":"0x..","from":"0x..","to":"0x..","value":"..."} above the
// threshold, else {"alert":false}; a retraction of a large transfer (event.removed, delivered
// under instant finality) gives {"alert":false,"retracted":true,...} so a consumer can withdraw
// the alert. Malformed input or a non-ERC-20 event returns 1 (status trap) with an error log.
//
// Build: examples/build (swiftc -target wasm32-unknown-none-wasm -enable-experimental-feature
// Embedded ... LargeTransfer.swift sdk/swift/Tributary.swift).

let defaultThreshold: StaticString = "1000000000000000000000"

func fail(_ message: StaticString) -> Int32 {
    Tributary.log(.error, message)
    return 1
}

@_expose(wasm, "handle")
@_cdecl("handle")
func handle(_ pointer: UnsafePointer<UInt8>?, _ length: Int32) -> Int32 {
    guard let bytes = Tributary.input(pointer, length) else { return fail("large-transfer: no input") }
    // Validate once, so every value found below is well-formed JSON that can be copied as is.
    guard let input = JSON.parse(bytes) else { return fail("large-transfer: input is not valid JSON") }

    // One pass over the top level and one over the event: each lookup rescans its object, and
    // scanning is what costs fuel here.
    var event: JSON?
    var environment: JSON?
    for (key, value) in input.members {
        if key.equals("event") {
            event = value
        } else if key.equals("environment") {
            environment = value
        }
    }
    guard let event else { return fail("large-transfer: no event (a direct invocation?)") }

    var token: JSON?
    var decoded: JSON?
    var removed: JSON?
    for (key, value) in event.members {
        if key.equals("address") {
            token = value
        } else if key.equals("removed") {
            removed = value
        } else if key.equals("decoded") {
            decoded = value
        }
    }
    guard let decoded, decoded.member("name")?.isString("Transfer") == true,
        let arguments = decoded.member("arguments")
    else { return fail("large-transfer: the event is not a decoded Transfer") }
    // ERC-721 Transfer has the same signature but a tokenId instead of a value.
    guard let from = arguments.argument(named: "from"), let to = arguments.argument(named: "to"),
        let digits = arguments.argument(named: "value")?.integerDigits
    else { return fail("large-transfer: not an ERC-20 Transfer (from, to, value)") }

    var threshold = ByteSpan(defaultThreshold)
    if let configured = environment?.member("THRESHOLD") {
        guard let configuredDigits = configured.integerDigits else {
            return fail("large-transfer: THRESHOLD must be a decimal integer")
        }
        threshold = configuredDigits
    }

    guard let order = Tributary.compareDecimal(digits, threshold) else { return fail("large-transfer: bad value") }
    if order <= 0 {
        Tributary.output("{\"alert\":false}")
        return 0
    }

    let retracted = removed?.isTrue ?? false
    var out = OutputBuffer(capacity: 512)
    out.append(retracted ? "{\"alert\":false,\"retracted\":true" : "{\"alert\":true")
    if let token {
        out.append(",\"token\":")
        out.append(token)
    }
    // from, to and token are JSON values from validated input: copied verbatim, quotes included.
    out.append(",\"from\":")
    out.append(from)
    out.append(",\"to\":")
    out.append(to)
    out.append(",\"value\":\"")
    out.append(digits)
    out.append("\"}")
    guard Tributary.output(out) else { return fail("large-transfer: output does not fit 512 bytes") }
    Tributary.log(.info, retracted ? "large transfer retracted" : "large transfer")
    return 0
}
