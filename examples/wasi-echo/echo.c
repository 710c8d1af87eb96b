/*
 * wasi-echo: the WASI preview1 variant of a function (docs/function-abi.md, "WASI").
 *
 * Reads the invocation JSON from stdin and writes one JSON line to stdout (the output):
 *   {"bytes":N,"arguments":["..."],"greeting":"<$GREETING or null>","input":"<stdin as a string>"}
 * and one line to stderr (a log line). Manifest `arguments` arrive as argv[1...], the manifest
 * `environment` as environment variables.
 *
 * Built against Debian's wasi-libc by examples/build. It avoids printf on purpose: printf pulls
 * in long double formatting, which needs compiler-rt builtins the toolchain does not ship for
 * wasm32; fputs/fwrite need nothing beyond libc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes `length` bytes as the contents of a JSON string (quotes not included). */
static void put_json_string(const char *text, size_t length) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            fputc('\\', stdout);
            fputc(c, stdout);
        } else if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c < 0x20) {
            char escape[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            fputs(escape, stdout);
        } else {
            fputc(c, stdout);
        }
    }
}

static void put_decimal(FILE *stream, size_t value) {
    char digits[24];
    int n = 0;
    do digits[n++] = (char)('0' + value % 10); while ((value /= 10) != 0);
    while (n > 0) fputc(digits[--n], stream);
}

int main(int argc, char **argv) {
    size_t length = 0, capacity = 4096;
    char *input = malloc(capacity);
    size_t got;
    while (input != NULL && (got = fread(input + length, 1, capacity - length, stdin)) > 0) {
        length += got;
        if (length == capacity) input = realloc(input, capacity *= 2);
    }
    if (input == NULL) {
        fputs("wasi-echo: out of memory\n", stderr);
        return 1;
    }

    fputs("{\"bytes\":", stdout);
    put_decimal(stdout, length);
    fputs(",\"arguments\":[", stdout);
    for (int i = 1; i < argc; i++) {
        fputs(i > 1 ? ",\"" : "\"", stdout);
        put_json_string(argv[i], strlen(argv[i]));
        fputc('"', stdout);
    }
    fputs("],\"greeting\":", stdout);
    const char *greeting = getenv("GREETING");
    if (greeting == NULL) {
        fputs("null", stdout);
    } else {
        fputc('"', stdout);
        put_json_string(greeting, strlen(greeting));
        fputc('"', stdout);
    }
    fputs(",\"input\":\"", stdout);
    put_json_string(input, length);
    fputs("\"}\n", stdout);

    fputs("wasi-echo: echoed ", stderr);
    put_decimal(stderr, length);
    fputs(" bytes\n", stderr);
    return 0;
}
