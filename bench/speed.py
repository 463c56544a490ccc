"""Encoding speed of `jsonvec encode` on the shared corpora (a benchmark, not a test).

Usage:  python bench/speed.py [--data DIR] [--corpus NAME ...] [--write docs/performance.md]

For each corpus it runs the real command line end to end (`jsonvec encode FILE -o X.parquet`, in
a subprocess, so start-up is included) and the library's batch encoder alone on the parsed
records, and prints records/s and MB/s as a Markdown table.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

import jsonvec
from jsonvec import Encoder

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DEFAULT_CORPORA = ("twitter_statuses", "vega_movies")


def cli_rate(path: Path) -> tuple[int, float]:
    """Records and seconds for `jsonvec encode` on ``path``, timed around the process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "v.parquet"
        command = [sys.executable, "-m", "jsonvec", "encode", str(path), "-o", str(out), "-q"]
        started = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - started
    records = sum(1 for line in path.read_bytes().splitlines() if line.strip())
    return records, seconds


def library_rate(path: Path) -> tuple[int, float]:
    """Records and seconds for ``Encoder.encode_batch`` alone, on a fresh encoder."""
    values = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    encoder = Encoder()
    started = time.perf_counter()
    vectors = encoder.encode_batch(values)
    seconds = time.perf_counter() - started
    assert vectors.shape == (len(values), encoder.dim)
    assert np.isfinite(vectors).all()
    return len(values), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--corpus", action="append", help="corpus name (file stem), repeatable")
    parser.add_argument("--write", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no corpora at {args.data}: nothing to measure", file=sys.stderr)
        return
    rows = []
    for name in args.corpus or DEFAULT_CORPORA:
        path = args.data / f"{name}.jsonl"
        megabytes = path.stat().st_size / 1e6
        n, cli_seconds = cli_rate(path)
        _, lib_seconds = library_rate(path)
        rows.append(
            f"| {name} | {n} | {megabytes:.2f} | {n / cli_seconds:,.0f} | "
            f"{megabytes / cli_seconds:.2f} | {n / lib_seconds:,.0f} |"
        )
    header = [
        f"jsonvec {jsonvec.__version__}, Python {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()}, dim 1024, default codebook.",
        "",
        "| corpus | records | MB | `jsonvec encode` records/s | MB/s | library batch records/s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    table = "\n".join(header + rows)
    print(table)
    if args.write:
        command = "python bench/speed.py " + " ".join(sys.argv[1:])
        args.write.write_text(
            f"# Encoding speed\n\nCommand: `{command.strip()}`\n\n{table}\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
