"""Recompiles devnet/contracts/*.vy into devnet/contracts/build/<Name>.json (ABI + bytecode).

Usage (from the repository root):
    devnet/.venv/bin/python devnet/compile_contracts.py          # rewrite the artifacts
    devnet/.venv/bin/python devnet/compile_contracts.py --check  # exit 1 if they differ

The artifacts are committed, so running the devnet needs no compiler. The output is
deterministic: tests/test_contracts.py checks that recompiling reproduces them byte for byte.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"


def compile_one(path: Path) -> str:
    import vyper

    source = path.read_text()
    out = vyper.compile_code(source, output_formats=["abi", "bytecode", "bytecode_runtime"])
    artifact = {
        "contractName": path.stem,
        "source": f"devnet/contracts/{path.name}",
        "sourceSha256": hashlib.sha256(source.encode()).hexdigest(),
        "compiler": f"vyper {vyper.__version__}",
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "deployedBytecode": out["bytecode_runtime"],
    }
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--out", type=Path, default=BUILD_DIR, help="output directory")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    differing = []
    for path in sorted(CONTRACTS_DIR.glob("*.vy")):
        text = compile_one(path)
        target = args.out / f"{path.stem}.json"
        if args.check:
            if not target.exists() or target.read_text() != text:
                differing.append(target.name)
        else:
            target.write_text(text)
            print(f"wrote {target}")
    if differing:
        print("artifacts out of date: " + ", ".join(differing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
