/*
 * large-transfer: alerts on ERC-20 transfers above a threshold (raw ABI, sdk/c/tributary.h).
 *
 * Trigger it on `erc20.Transfer` (or "Transfer(address indexed from, address indexed to,
 * uint256 value)"). The threshold comes from the manifest environment, THRESHOLD: a decimal
 * string in the token's base units (default 1000 tokens of 18 decimals).
 *
 * Output: {"alert":true,"token":"0x..","from":"0x..","to":"0x..","value":"..."} above the
 * threshold, else {"alert":false}; a retraction of a large transfer (event.removed, delivered
 * under instant finality) gives {"alert":false,"retracted":true,...} so a consumer can withdraw
 * the alert. Malformed input or a non-ERC-20 event returns 1 (status trap) with an error log.
 *
 * Build: examples/build (clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry ...).
 */

/* Push model through `alloc` unless built with -DTRIBUTARY_INPUT_CAPACITY=N (static buffer). */
#ifndef TRIBUTARY_INPUT_CAPACITY
#define TRIBUTARY_DEFINE_ALLOC
#endif
#include "tributary.h"

#define DEFAULT_THRESHOLD "1000000000000000000000"

static int fail(const char *message) {
    tributary_log_error(message);
    return 1;
}

TRIBUTARY_EXPORT("handle") int handle(const char *ptr, int len) {
    tributary_span input = tributary_receive(ptr, len);
    if (input.ptr == 0) return fail("large-transfer: no input");

    /* One pass over the top level and one over the event: each lookup from the root would rescan
     * the whole input, and scanning is what costs fuel here. Every value these passes step over is
     * checked to be well-formed JSON, so the spans found can be copied into the output as they are
     * (validating the whole input first would scan it once more for nothing). */
    tributary_span key, member, event = {0, 0}, environment = {0, 0};
    size_t cursor = 0;
    while (tributary_json_object_next(input, &cursor, &key, &member)) {
        if (tributary_span_equals(key, "event")) event = member;
        else if (tributary_span_equals(key, "environment")) environment = member;
    }
    if (!tributary_json_object_ended(input, cursor)) return fail("large-transfer: input is not valid JSON");
    if (event.ptr == 0) return fail("large-transfer: no event (a direct invocation?)");

    tributary_span token = {0, 0}, decoded = {0, 0}, removed = {0, 0};
    cursor = 0;
    while (tributary_json_object_next(event, &cursor, &key, &member)) {
        if (tributary_span_equals(key, "address")) token = member;
        else if (tributary_span_equals(key, "removed")) removed = member;
        else if (tributary_span_equals(key, "decoded")) decoded = member;
    }
    tributary_span name, arguments, digits;
    if (!tributary_json_member(decoded, "name", &name) || !tributary_json_string_equals(name, "Transfer") ||
        !tributary_json_member(decoded, "arguments", &arguments))
        return fail("large-transfer: the event is not a decoded Transfer");
    /* ERC-721 Transfer has the same signature but a tokenId instead of a value. */
    static const char *const wanted[] = {"from", "to", "value"};
    tributary_span found[3];
    if (tributary_event_arguments(arguments, wanted, 3, found) != 3 || !tributary_json_decimal(found[2], &digits))
        return fail("large-transfer: not an ERC-20 Transfer (from, to, value)");
    tributary_span from = found[0], to = found[1];

    tributary_span threshold = tributary_span_of(DEFAULT_THRESHOLD);
    tributary_span configured;
    if (tributary_json_member(environment, "THRESHOLD", &configured) &&
        !tributary_json_decimal(configured, &threshold))
        return fail("large-transfer: THRESHOLD must be a decimal integer");

    int order;
    if (!tributary_decimal_compare(digits, threshold, &order)) return fail("large-transfer: bad value");
    if (order <= 0) {
        tributary_output_string("{\"alert\":false}");
        return 0;
    }

    int retracted = tributary_json_is_true(removed);
    char storage[512];
    tributary_buffer out = tributary_buffer_make(storage, sizeof storage);
    tributary_buffer_append_string(&out, retracted ? "{\"alert\":false,\"retracted\":true" : "{\"alert\":true");
    if (token.ptr != 0) {
        tributary_buffer_append_string(&out, ",\"token\":");
        tributary_buffer_append_span(&out, token);
    }
    /* from, to and token are JSON values from validated input: copied verbatim, quotes included. */
    tributary_buffer_append_string(&out, ",\"from\":");
    tributary_buffer_append_span(&out, from);
    tributary_buffer_append_string(&out, ",\"to\":");
    tributary_buffer_append_span(&out, to);
    tributary_buffer_append_string(&out, ",\"value\":\"");
    tributary_buffer_append_span(&out, digits);
    tributary_buffer_append_string(&out, "\"}");
    if (tributary_output_buffer(&out) != 0) return fail("large-transfer: output does not fit 512 bytes");
    tributary_log_info(retracted ? "large transfer retracted" : "large transfer");
    return 0;
}
