/*
 * tributary.h — single-header C SDK for Tributary functions on the raw ABI (docs/function-abi.md).
 *
 * Build (no libc; clang and wasm-ld from the Swift toolchain are enough):
 *
 *   clang --target=wasm32 -O2 -ffreestanding -nostdlib -I sdk/c -Wl,--no-entry -Wl,--stack-first \
 *     -o fn.wasm fn.c
 *
 * -ffreestanding matters: without it clang turns byte loops into calls to strlen/memcpy/memset,
 * which do not exist without libc (wasm-ld: "undefined symbol: strlen"). --stack-first makes a
 * stack overflow trap instead of silently overwriting static data (examples/build has the rest).
 *
 * A function defines the entry export and reads its input, which is the invocation JSON:
 *
 *   #define TRIBUTARY_DEFINE_ALLOC          // export `alloc`, so the host pushes the input
 *   #include "tributary.h"
 *
 *   TRIBUTARY_EXPORT("handle") int handle(const char *ptr, int len) {
 *       tributary_span input = tributary_receive(ptr, len);
 *       tributary_output_string("{\"ok\":true}");
 *       return 0;                               // anything else reports failure
 *   }
 *
 * Input placement (the host tries these in order; see docs/function-abi.md):
 *   - TRIBUTARY_DEFINE_ALLOC (one translation unit): exports `alloc`, a bump allocator; the host
 *     calls it for a buffer and passes (ptr, len) to the entry.
 *   - TRIBUTARY_INPUT_CAPACITY N (one translation unit): defines the `tributary_input` buffer and
 *     `tributary_input_capacity`; link with
 *     -Wl,--export=tributary_input,--export=tributary_input_capacity so the host writes there.
 *     (Without those exports the host calls handle(0, 0) and tributary_receive pulls the input
 *     into the same buffer.)
 *   - neither: handle(0, 0); call tributary_pull_input with a buffer of your own.
 *
 * Everything else is static inline, so the header can be included from several files. Nothing
 * here needs state across invocations: each invocation runs in a fresh instance.
 *
 * The JSON helpers work on spans of raw JSON text and never read outside the span, whatever the
 * bytes are: the input comes from chains and callers, so it is treated as hostile. They do not
 * decode escapes: keys and strings compare byte-for-byte with their raw JSON text, which is
 * exact for everything Tributary itself writes (names, hex, decimal strings).
 */
#ifndef TRIBUTARY_H
#define TRIBUTARY_H

#include <stddef.h> /* clang's own freestanding headers; no libc needed */
#include <stdint.h>

#if !defined(__wasm32__)
#error "tributary.h targets wasm32: compile with clang --target=wasm32"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Host imports (module "tributary"). Pointers are offsets into the guest's exported memory. A
 * pointer/length outside memory ends the invocation with status abi_error.
 * ------------------------------------------------------------------------------------------- */

#define TRIBUTARY_IMPORT(name) __attribute__((import_module("tributary"), import_name(name)))
/* Exports a function under `name` (the entry, `alloc`); no --export flag needed. */
#define TRIBUTARY_EXPORT(name) __attribute__((export_name(name), visibility("default")))

/* Byte length of the invocation input. */
TRIBUTARY_IMPORT("input_len") int32_t tributary_input_len(void);
/* Copies the whole input to `destination`, which must have tributary_input_len() bytes. */
TRIBUTARY_IMPORT("get_input") void tributary_get_input(void *destination);
/* Sets (replaces) the output. More than the function's output limit: status output_too_large. */
TRIBUTARY_IMPORT("set_output") void tributary_set_output(const void *data, int32_t length);
/* Logs one UTF-8 message; bytes beyond the function's log limit are dropped by the host. */
TRIBUTARY_IMPORT("log") void tributary_log(int32_t level, const void *message, int32_t length);

enum {
    TRIBUTARY_LOG_DEBUG = 0,
    TRIBUTARY_LOG_INFO = 1,
    TRIBUTARY_LOG_WARN = 2,
    TRIBUTARY_LOG_ERROR = 3,
};

/* A run of bytes; for the JSON helpers, the raw text of one JSON value. */
typedef struct {
    const char *ptr;
    size_t len;
} tributary_span;

static inline size_t tributary_strlen(const char *text) {
    size_t length = 0;
    while (text[length] != 0) length++;
    return length;
}

static inline tributary_span tributary_span_of(const char *text) {
    tributary_span span = {text, tributary_strlen(text)};
    return span;
}

/* 1 when the span holds exactly the bytes of the NUL-terminated `text`. */
static inline int tributary_span_equals(tributary_span span, const char *text) {
    size_t i = 0;
    for (; i < span.len; i++)
        if (text[i] == 0 || text[i] != span.ptr[i]) return 0;
    return text[i] == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Output and logs
 * ------------------------------------------------------------------------------------------- */

/* Sets the output; lengths that do not fit the ABI's i32 are refused (returns -1). */
static inline int tributary_output(const void *data, size_t length) {
    if (length > INT32_MAX) return -1;
    tributary_set_output(data, (int32_t)length);
    return 0;
}

static inline int tributary_output_string(const char *text) {
    return tributary_output(text, tributary_strlen(text));
}

static inline void tributary_log_bytes(int32_t level, const char *message, size_t length) {
    /* Longer than the ABI can express: log the first 2 GiB (the host truncates long before). */
    tributary_log(level, message, length > INT32_MAX ? INT32_MAX : (int32_t)length);
}

static inline void tributary_log_debug(const char *message) {
    tributary_log_bytes(TRIBUTARY_LOG_DEBUG, message, tributary_strlen(message));
}
static inline void tributary_log_info(const char *message) {
    tributary_log_bytes(TRIBUTARY_LOG_INFO, message, tributary_strlen(message));
}
static inline void tributary_log_warn(const char *message) {
    tributary_log_bytes(TRIBUTARY_LOG_WARN, message, tributary_strlen(message));
}
static inline void tributary_log_error(const char *message) {
    tributary_log_bytes(TRIBUTARY_LOG_ERROR, message, tributary_strlen(message));
}

/* A fixed-capacity byte buffer for building output without an allocator. Appends that do not fit
 * set `overflowed` and are dropped whole, so a truncated (invalid) JSON document is never sent. */
typedef struct {
    char *data;
    size_t length;
    size_t capacity;
    int overflowed;
} tributary_buffer;

static inline tributary_buffer tributary_buffer_make(char *storage, size_t capacity) {
    tributary_buffer buffer = {storage, 0, capacity, 0};
    return buffer;
}

static inline void tributary_buffer_append(tributary_buffer *buffer, const char *bytes, size_t length) {
    if (buffer->overflowed || length > buffer->capacity - buffer->length) {
        buffer->overflowed = 1;
        return;
    }
    for (size_t i = 0; i < length; i++) buffer->data[buffer->length + i] = bytes[i];
    buffer->length += length;
}

static inline void tributary_buffer_append_string(tributary_buffer *buffer, const char *text) {
    tributary_buffer_append(buffer, text, tributary_strlen(text));
}

static inline void tributary_buffer_append_span(tributary_buffer *buffer, tributary_span span) {
    tributary_buffer_append(buffer, span.ptr, span.len);
}

/* Sends the buffer as the output; -1 (and nothing sent) if an append overflowed. */
static inline int tributary_output_buffer(const tributary_buffer *buffer) {
    if (buffer->overflowed) return -1;
    return tributary_output(buffer->data, buffer->length);
}

/* ---------------------------------------------------------------------------------------------
 * Input
 * ------------------------------------------------------------------------------------------- */

/* Pull model: copies the input into `buffer`. Returns its length, or -1 when it is longer than
 * `capacity` (get_input always copies the whole input, so a short buffer cannot be used). */
static inline int64_t tributary_pull_input(void *buffer, size_t capacity) {
    int32_t length = tributary_input_len();
    if (length < 0 || (uint32_t)length > capacity) return -1;
    tributary_get_input(buffer);
    return length;
}

/* Bump allocator: `alloc` for the host, tributary_alloc for the function. Memory is never freed:
 * each invocation gets a fresh instance, so the heap only has to last one call. */
void *tributary_alloc(size_t size);

#if defined(TRIBUTARY_INPUT_CAPACITY)
extern unsigned char tributary_input[];
extern const uint32_t tributary_input_capacity;
#endif

/* The input as a span, whichever placement the host used: (ptr, len) when it pushed the input,
 * else pulled into the alloc heap or the TRIBUTARY_INPUT_CAPACITY buffer. An empty span (ptr
 * NULL) when it could not be had: no buffer configured, or the input does not fit. */
static inline tributary_span tributary_receive(const char *ptr, int32_t len) {
    tributary_span input = {0, 0};
    if (ptr != 0 || len != 0) {
        if (len < 0) return input;
        input.ptr = ptr;
        input.len = (size_t)len;
        return input;
    }
#if defined(TRIBUTARY_DEFINE_ALLOC)
    {
        int32_t length = tributary_input_len();
        char *buffer = length < 0 ? 0 : (char *)tributary_alloc((size_t)length);
        if (buffer == 0) return input;
        tributary_get_input(buffer);
        input.ptr = buffer;
        input.len = (size_t)length;
    }
#elif defined(TRIBUTARY_INPUT_CAPACITY)
    {
        int64_t length = tributary_pull_input(tributary_input, TRIBUTARY_INPUT_CAPACITY);
        if (length < 0) return input;
        input.ptr = (const char *)tributary_input;
        input.len = (size_t)length;
    }
#endif
    return input;
}

/* ---------------------------------------------------------------------------------------------
 * JSON: read-only access to values inside a JSON text, by span. No allocation, no recursion
 * (nesting is tracked in a 64-bit stack, so depth is limited to 64), no reads outside the span.
 * Functions returning int return 1 for found/valid and 0 otherwise.
 * ------------------------------------------------------------------------------------------- */

#define TRIBUTARY_JSON_MAX_DEPTH 64

static inline const char *tributary_json_skip_space(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static inline int tributary_json_is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Skips a string starting at `p` (which must be '"'); returns the byte after the closing quote,
 * or NULL. Control characters and bad escapes are rejected, so a string that passes can be copied
 * verbatim into output JSON. */
static inline const char *tributary_json_skip_string(const char *p, const char *end) {
    if (p >= end || *p != '"') return 0;
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (++p >= end) return 0;
            switch (*p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
            case 'u':
                if (end - p < 5) return 0;
                for (int i = 1; i <= 4; i++)
                    if (!tributary_json_is_hex(p[i])) return 0;
                p += 4;
                break;
            default: return 0;
            }
        }
    }
    return 0;
}

static inline const char *tributary_json_skip_digits(const char *p, const char *end) {
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9') p++;
    return p == start ? 0 : p;
}

/* Skips a number, `true`, `false` or `null`; NULL if none starts at `p`. */
static inline const char *tributary_json_skip_scalar(const char *p, const char *end) {
    static const char *const literals[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        const char *literal = literals[i];
        const char *q = p;
        while (*literal != 0 && q < end && *q == *literal) q++, literal++;
        if (*literal == 0) return q;
    }
    if (p < end && *p == '-') p++;
    if (p < end && *p == '0') p++;
    else if ((p = tributary_json_skip_digits(p, end)) == 0) return 0;
    if (p < end && *p == '.' && (p = tributary_json_skip_digits(p + 1, end)) == 0) return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if ((p = tributary_json_skip_digits(p, end)) == 0) return 0;
    }
    return p;
}

/* Skips one complete JSON value starting at `p` (after optional whitespace); returns the byte
 * after it, or NULL if the text there is not valid JSON. Objects and arrays are checked fully. */
static inline const char *tributary_json_skip_value(const char *p, const char *end) {
    uint64_t in_object = 0; /* bit d: the container at depth d+1 is an object */
    int depth = 0;
    for (;;) {
        /* A value is expected at p. */
        p = tributary_json_skip_space(p, end);
        if (p >= end) return 0;
        if (*p == '{' || *p == '[') {
            int object = *p == '{';
            if (depth == TRIBUTARY_JSON_MAX_DEPTH) return 0;
            in_object = (in_object & ~((uint64_t)1 << depth)) | ((uint64_t)object << depth);
            depth++;
            p = tributary_json_skip_space(p + 1, end);
            if (p < end && *p == (object ? '}' : ']')) {
                p++;
                depth--;
            } else if (object) {
                if ((p = tributary_json_skip_string(p, end)) == 0) return 0;
                p = tributary_json_skip_space(p, end);
                if (p >= end || *p != ':') return 0;
                p++;
                continue;
            } else {
                continue;
            }
        } else if (*p == '"') {
            if ((p = tributary_json_skip_string(p, end)) == 0) return 0;
        } else if ((p = tributary_json_skip_scalar(p, end)) == 0) {
            return 0;
        }
        /* A value ended at p: close containers or move to the next element. */
        for (;;) {
            if (depth == 0) return p;
            int object = (int)((in_object >> (depth - 1)) & 1);
            p = tributary_json_skip_space(p, end);
            if (p >= end) return 0;
            if (*p == (object ? '}' : ']')) {
                p++;
                depth--;
                continue;
            }
            if (*p != ',') return 0;
            p = tributary_json_skip_space(p + 1, end);
            if (object) {
                if ((p = tributary_json_skip_string(p, end)) == 0) return 0;
                p = tributary_json_skip_space(p, end);
                if (p >= end || *p != ':') return 0;
                p++;
            }
            break;
        }
    }
}

/* 1 when `text` is exactly one valid JSON value (whitespace around it allowed). Checking the
 * whole input once up front means later lookups and verbatim copies work on valid JSON. */
static inline int tributary_json_valid(tributary_span text) {
    const char *end = text.ptr + text.len;
    const char *p = text.ptr == 0 ? 0 : tributary_json_skip_value(text.ptr, end);
    return p != 0 && tributary_json_skip_space(p, end) == end;
}

/* Iterates an object's members. Start with *cursor = 0; each call yields the next key (raw
 * contents, without quotes) and value span, and returns 0 at the end or on malformed JSON. */
static inline int tributary_json_object_next(tributary_span object, size_t *cursor, tributary_span *key,
                                             tributary_span *value) {
    const char *end = object.ptr + object.len;
    const char *p;
    if (object.ptr == 0 || *cursor > object.len) return 0;
    if (*cursor == 0) {
        p = tributary_json_skip_space(object.ptr, end);
        if (p >= end || *p != '{') return 0;
        p = tributary_json_skip_space(p + 1, end);
        if (p < end && *p == '}') return 0;
    } else {
        p = tributary_json_skip_space(object.ptr + *cursor, end);
        if (p >= end || *p != ',') return 0;
        p = tributary_json_skip_space(p + 1, end);
    }
    const char *key_end = tributary_json_skip_string(p, end);
    if (key_end == 0) return 0;
    key->ptr = p + 1;
    key->len = (size_t)(key_end - p - 2);
    p = tributary_json_skip_space(key_end, end);
    if (p >= end || *p != ':') return 0;
    p = tributary_json_skip_space(p + 1, end);
    const char *value_end = tributary_json_skip_value(p, end);
    if (value_end == 0) return 0;
    value->ptr = p;
    value->len = (size_t)(value_end - p);
    *cursor = (size_t)(value_end - object.ptr);
    return 1;
}

/* 1 when an iteration of `object` with tributary_json_object_next stopped at the object's end:
 * after the members read through `cursor` comes the closing brace and nothing but whitespace.
 * (The iteration also stops at malformed JSON; this tells the two apart without another scan.) */
static inline int tributary_json_object_ended(tributary_span object, size_t cursor) {
    const char *end = object.ptr + object.len;
    if (object.ptr == 0 || cursor > object.len) return 0;
    const char *p = tributary_json_skip_space(object.ptr + cursor, end);
    if (cursor == 0) { /* no member read: only an empty object ends here */
        if (p >= end || *p != '{') return 0;
        p = tributary_json_skip_space(p + 1, end);
    }
    return p < end && *p == '}' && tributary_json_skip_space(p + 1, end) == end;
}

/* Iterates an array's elements; same contract as tributary_json_object_next. */
static inline int tributary_json_array_next(tributary_span array, size_t *cursor, tributary_span *element) {
    const char *end = array.ptr + array.len;
    const char *p;
    if (array.ptr == 0 || *cursor > array.len) return 0;
    if (*cursor == 0) {
        p = tributary_json_skip_space(array.ptr, end);
        if (p >= end || *p != '[') return 0;
        p = tributary_json_skip_space(p + 1, end);
        if (p < end && *p == ']') return 0;
    } else {
        p = tributary_json_skip_space(array.ptr + *cursor, end);
        if (p >= end || *p != ',') return 0;
        p = tributary_json_skip_space(p + 1, end);
    }
    const char *value_end = tributary_json_skip_value(p, end);
    if (value_end == 0) return 0;
    element->ptr = p;
    element->len = (size_t)(value_end - p);
    *cursor = (size_t)(value_end - array.ptr);
    return 1;
}

/* The value of the first member named `key` (length key_length) of `object`; direct members
 * only, so a key of the same name deeper inside does not match. */
static inline int tributary_json_member_n(tributary_span object, const char *key, size_t key_length,
                                          tributary_span *value) {
    size_t cursor = 0;
    tributary_span name;
    while (tributary_json_object_next(object, &cursor, &name, value)) {
        if (name.len != key_length) continue;
        size_t i = 0;
        while (i < key_length && name.ptr[i] == key[i]) i++;
        if (i == key_length) return 1;
    }
    return 0;
}

static inline int tributary_json_member(tributary_span object, const char *key, tributary_span *value) {
    return tributary_json_member_n(object, key, tributary_strlen(key), value);
}

/* Follows a dotted path from `root`: "event.decoded.name", "event.topics.0". A segment of digits
 * indexes an array; any other segment names an object member (so keys containing '.' cannot be
 * reached this way: use tributary_json_member). "" is the root itself. */
static inline int tributary_json_path(tributary_span root, const char *path, tributary_span *value) {
    tributary_span current = root;
    while (*path != 0) {
        size_t length = 0;
        int numeric = 1;
        while (path[length] != 0 && path[length] != '.') {
            if (path[length] < '0' || path[length] > '9') numeric = 0;
            length++;
        }
        const char *first = tributary_json_skip_space(current.ptr, current.ptr + current.len);
        if (numeric && length > 0 && first < current.ptr + current.len && *first == '[') {
            size_t index = 0, cursor = 0;
            for (size_t i = 0; i < length; i++) {
                if (index > (SIZE_MAX - 9) / 10) return 0;
                index = index * 10 + (size_t)(path[i] - '0');
            }
            tributary_span element;
            do {
                if (!tributary_json_array_next(current, &cursor, &element)) return 0;
            } while (index-- > 0);
            current = element;
        } else if (!tributary_json_member_n(current, path, length, &current)) {
            return 0;
        }
        path += length;
        if (*path == '.') path++;
    }
    *value = current;
    return 1;
}

/* The raw contents of a JSON string value (without the quotes, escapes not decoded). */
static inline int tributary_json_string(tributary_span value, tributary_span *contents) {
    const char *end = value.ptr + value.len;
    if (value.ptr == 0 || tributary_json_skip_string(value.ptr, end) != end) return 0;
    contents->ptr = value.ptr + 1;
    contents->len = value.len - 2;
    return 1;
}

/* 1 when `value` is a JSON string whose raw contents are exactly `text`. */
static inline int tributary_json_string_equals(tributary_span value, const char *text) {
    tributary_span contents;
    return tributary_json_string(value, &contents) && tributary_span_equals(contents, text);
}

/* 1 when `value` is the literal `true`. */
static inline int tributary_json_is_true(tributary_span value) {
    return tributary_span_equals(value, "true");
}

/* The argument named `name` of a decoded event: the "value" of the element of `arguments` whose
 * "name" is `name`. `arguments` is event.decoded.arguments: decoded arguments are a list of
 * {name, type, indexed, value, checksummed} objects in ABI order, not a map. */
static inline int tributary_event_argument(tributary_span arguments, const char *name, tributary_span *value) {
    tributary_span argument, argument_name;
    size_t cursor = 0;
    while (tributary_json_array_next(arguments, &cursor, &argument)) {
        if (tributary_json_member(argument, "name", &argument_name) &&
            tributary_json_string_equals(argument_name, name))
            return tributary_json_member(argument, "value", value);
    }
    return 0;
}

/* Several arguments of a decoded event in one pass over `arguments`: values[i] gets what
 * tributary_event_argument(arguments, names[i], ...) would give — the "value" of the first
 * argument named names[i] — or {0, 0} when that has none. Returns how many were found (at most
 * 32 names). Scanning is what costs fuel, and each tributary_event_argument call scans from the
 * start. */
static inline int tributary_event_arguments(tributary_span arguments, const char *const *names, int count,
                                            tributary_span *values) {
    tributary_span argument, key, member;
    size_t cursor = 0;
    uint32_t settled = 0; /* bit i: the first argument named names[i] has been seen */
    int found = 0;
    for (int i = 0; i < count; i++) values[i].ptr = 0, values[i].len = 0;
    if (count > 32) return 0;
    while (settled != (count == 32 ? 0xFFFFFFFFu : (1u << count) - 1) &&
           tributary_json_array_next(arguments, &cursor, &argument)) {
        tributary_span name = {0, 0}, value = {0, 0};
        size_t at = 0;
        while (tributary_json_object_next(argument, &at, &key, &member)) {
            if (name.ptr == 0 && tributary_span_equals(key, "name")) name = member;
            else if (value.ptr == 0 && tributary_span_equals(key, "value")) value = member;
        }
        for (int i = 0; i < count; i++) {
            if (!(settled & (1u << i)) && tributary_json_string_equals(name, names[i])) {
                settled |= 1u << i;
                values[i] = value;
                if (value.ptr != 0) found++;
            }
        }
    }
    return found;
}

/* ---------------------------------------------------------------------------------------------
 * Big decimal integers. Tributary writes ABI integers as exact decimal strings ("value":
 * "1000000000000000000000") because uint256 does not fit any C type; these compare them as text.
 * ------------------------------------------------------------------------------------------- */

/* The digits of an integer given as a JSON string ("123", "-5") or a JSON integer (123):
 * `digits` gets the text without quotes, sign included. 0 for anything else (fractions,
 * exponents, "+1", empty, hex). */
static inline int tributary_json_decimal(tributary_span value, tributary_span *digits) {
    tributary_span text = value;
    if (value.ptr == 0 || value.len == 0) return 0;
    if (value.ptr[0] == '"' && !tributary_json_string(value, &text)) return 0;
    size_t i = (text.len > 0 && text.ptr[0] == '-') ? 1 : 0;
    if (i == text.len) return 0;
    for (; i < text.len; i++)
        if (text.ptr[i] < '0' || text.ptr[i] > '9') return 0;
    *digits = text;
    return 1;
}

/* Compares two decimal integers given as digit text (optional leading '-', leading zeros
 * allowed, any length). Sets *order to -1, 0 or 1 as a <, =, > b; returns 0 if either is not a
 * decimal integer. */
static inline int tributary_decimal_compare(tributary_span a, tributary_span b, int *order) {
    tributary_span parts[2] = {a, b};
    int negative[2];
    for (int k = 0; k < 2; k++) {
        tributary_span *s = &parts[k];
        if (s->ptr == 0 || s->len == 0) return 0;
        negative[k] = s->ptr[0] == '-';
        if (negative[k]) s->ptr++, s->len--;
        if (s->len == 0) return 0;
        for (size_t i = 0; i < s->len; i++)
            if (s->ptr[i] < '0' || s->ptr[i] > '9') return 0;
        while (s->len > 1 && s->ptr[0] == '0') s->ptr++, s->len--;
        if (s->len == 1 && s->ptr[0] == '0') negative[k] = 0; /* -0 == 0 */
    }
    int magnitude = 0;
    if (parts[0].len != parts[1].len) {
        magnitude = parts[0].len < parts[1].len ? -1 : 1;
    } else {
        for (size_t i = 0; i < parts[0].len && magnitude == 0; i++)
            if (parts[0].ptr[i] != parts[1].ptr[i]) magnitude = parts[0].ptr[i] < parts[1].ptr[i] ? -1 : 1;
    }
    if (negative[0] != negative[1]) *order = negative[0] ? -1 : 1;
    else *order = negative[0] ? -magnitude : magnitude;
    return 1;
}

/* A non-negative integer (JSON number or decimal string) as uint64_t: for "attempt",
 * "functionVersion", "blockNumber". 0 if it is not one or exceeds 64 bits. */
static inline int tributary_json_u64(tributary_span value, uint64_t *result) {
    tributary_span digits;
    uint64_t n = 0;
    if (!tributary_json_decimal(value, &digits) || digits.ptr[0] == '-') return 0;
    for (size_t i = 0; i < digits.len; i++) {
        uint64_t d = (uint64_t)(digits.ptr[i] - '0');
        if (n > (UINT64_MAX - d) / 10) return 0;
        n = n * 10 + d;
    }
    *result = n;
    return 1;
}

#ifdef __cplusplus
}
#endif

/* ---------------------------------------------------------------------------------------------
 * Definitions for exactly one translation unit.
 * ------------------------------------------------------------------------------------------- */

#if defined(TRIBUTARY_DEFINE_ALLOC)
extern unsigned char __heap_base; /* wasm-ld: the first byte after data and stack */
static uintptr_t tributary_heap_next;

void *tributary_alloc(size_t size) {
    if (tributary_heap_next == 0) tributary_heap_next = (uintptr_t)&__heap_base;
    uintptr_t start = (tributary_heap_next + 15) & ~(uintptr_t)15; /* 16-byte alignment */
    if (start < tributary_heap_next || size > UINTPTR_MAX - start) return 0;
    uint64_t end = (uint64_t)start + size;
    uint64_t available = (uint64_t)__builtin_wasm_memory_size(0) * 65536;
    if (end > available) {
        uint64_t pages = (end - available + 65535) / 65536;
        /* Fails (-1) at the module's or the function's memory limit. */
        if (__builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1) return 0;
    }
    tributary_heap_next = (uintptr_t)end;
    return (void *)start;
}

/* The host calls this for the input buffer (push model). Out of memory it traps instead of
 * returning 0: the host would write the input at address 0, and the trap after a refused
 * memory.grow is reported as status memory_limit. */
TRIBUTARY_EXPORT("alloc") void *tributary_alloc_export(int32_t size) {
    void *buffer = size < 0 ? 0 : tributary_alloc((size_t)size);
    if (buffer == 0) __builtin_trap();
    return buffer;
}
#endif

#if defined(TRIBUTARY_INPUT_CAPACITY)
/* Exported with -Wl,--export=tributary_input,--export=tributary_input_capacity: wasm-ld then
 * exports each as an i32 global holding the address (not the value), as the ABI expects. */
unsigned char tributary_input[TRIBUTARY_INPUT_CAPACITY];
const uint32_t tributary_input_capacity = TRIBUTARY_INPUT_CAPACITY;
#endif

#endif /* TRIBUTARY_H */
