"""Checksum throughput on this machine: zlib's CRC-32 (what vectors files store) against
CRC-32C (hardware instruction) and xxHash, over the same buffer in memory (a benchmark).

Usage:  python bench/checksums.py [--mb 512] [--runs 5]

Needs ``pip install xxhash crc32c`` (not dependencies of jsonvec). Prints GB/s, best of
--runs, and what a pass over 4 GB (a million vectors of dim 1,024) costs with each.
"""

from __future__ import annotations

import argparse
import platform
import time
import zlib
from collections.abc import Callable

import numpy as np


def best_seconds(function: Callable[[memoryview], object], data: memoryview, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        function(data)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=512)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import crc32c  # noqa: PLC0415 - bench-only packages
    import xxhash  # noqa: PLC0415

    data = memoryview(np.random.default_rng(0).bytes(args.mb << 20))
    sums: dict[str, Callable[[memoryview], object]] = {
        "zlib.crc32 (stored today)": zlib.crc32,
        "CRC-32C (crc32c)": crc32c.crc32c,
        "xxh3_64 (xxhash)": xxhash.xxh3_64_intdigest,
        "xxh64 (xxhash)": xxhash.xxh64_intdigest,
    }
    print(f"{args.mb} MB in memory, best of {args.runs}; {platform.machine()}, "
          f"Python {platform.python_version()}, zlib {zlib.ZLIB_RUNTIME_VERSION}\n")  # fmt: skip
    print("| checksum | GB/s | 4 GB pass s |\n|---|---:|---:|")
    for name, function in sums.items():
        seconds = best_seconds(function, data, args.runs)
        rate = len(data) / seconds / 1e9
        print(f"| {name} | {rate:.1f} | {4.096 / rate:.2f} |")


if __name__ == "__main__":
    main()
