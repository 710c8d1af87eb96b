"""Benchmark peer: wasmtime-py running a raw-ABI Tributary function with a fresh instance per call.

usage: wasmtime_fresh.py <module.wasm> <input-file> <invocations>

Implements the four host imports (tributary.input_len/get_input/set_output/log), places the input
through the guest's `alloc`, calls `handle`. Compiles once (Module), then per invocation: a new
Store, instantiation through a Linker, the call. Also times a loop that does only Python-side work
of the same shape (no wasm), to report Python's own per-call overhead. Prints one JSON line.
"""
import json
import sys
import time

import wasmtime


def main() -> None:
    path, input_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = open(input_path, "rb").read()
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, path)
    linker = wasmtime.Linker(engine)
    state = {"output": b"", "memory": None, "store": None}

    def memory():
        return state["memory"]

    def input_len() -> int:
        return len(data)

    def get_input(ptr: int) -> None:
        memory().write(state["store"], data, ptr)

    def set_output(ptr: int, length: int) -> None:
        state["output"] = memory().read(state["store"], ptr, ptr + length)

    def log(level: int, ptr: int, length: int) -> None:
        memory().read(state["store"], ptr, ptr + length)

    i32 = wasmtime.ValType.i32()
    linker.define_func("tributary", "input_len", wasmtime.FuncType([], [i32]), input_len)
    linker.define_func("tributary", "get_input", wasmtime.FuncType([i32], []), get_input)
    linker.define_func("tributary", "set_output", wasmtime.FuncType([i32, i32], []), set_output)
    linker.define_func("tributary", "log", wasmtime.FuncType([i32, i32, i32], []), log)

    def invoke() -> bytes:
        store = wasmtime.Store(engine)
        instance = linker.instantiate(store, module)
        exports = instance.exports(store)
        state["store"], state["memory"] = store, exports["memory"]
        pointer = exports["alloc"](store, len(data))
        exports["memory"].write(store, data, pointer)
        status = exports["handle"](store, pointer, len(data))
        if status != 0:
            raise SystemExit(f"handle returned {status}")
        return state["output"]

    first = invoke()
    started = time.perf_counter()
    for _ in range(count):
        invoke()
    seconds = time.perf_counter() - started

    # Python's own share: each of the 3 calls into wasm per invocation (alloc, handle, plus the
    # memory write) crosses the ctypes bindings; time that crossing with a near-empty call.
    store = wasmtime.Store(engine)
    instance = linker.instantiate(store, module)
    alloc = instance.exports(store)["alloc"]
    started = time.perf_counter()
    for _ in range(count):
        alloc(store, 0)
    per_call = (time.perf_counter() - started) / count
    overhead = 3 * per_call * count

    print(json.dumps({
        "tool": "wasmtime-py", "version": "50.0.1", "invocations": count, "seconds": seconds,
        "per_second": count / seconds, "python_overhead_seconds": overhead,
        "per_second_without_python_overhead": count / max(1e-9, seconds - overhead),
        "output": first.decode("utf-8", "replace"),
    }))


if __name__ == "__main__":
    main()
