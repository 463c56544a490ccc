"""Encoding speed against the floor (orjson) and the usual alternative (FeatureHasher).

Usage:  python bench/speed.py [--data DIR] [--corpus NAME ...] [--min-mb 50]
                              [--write docs/performance.md]

Each corpus is repeated into a temporary file of at least --min-mb megabytes, so steady state
is measured, then, on that same file and at dim 1024:

(a) ``orjson.loads`` of every line alone — the floor for a Python tool;
(b) flatten + scikit-learn ``FeatureHasher`` (path=value tokens, numbers as values) writing the
    same float32 vectors to an .npy file, in batches of 1024 (needs the ``bench`` extra);
(c) ``jsonvec encode FILE -o X.parquet`` end to end, in a subprocess (its peak RSS from
    ``os.wait4``);
(d) the library's batch encoder alone on the parsed records.

It prints records/s and MB/s for each, and the ratios (c)/(b) and (a)/(c).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

import jsonvec
from jsonvec import Encoder

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
DEFAULT_CORPORA = ("twitter_statuses", "vega_movies")
BATCH = 1024
DIM = 1024


def repeated(path: Path, min_bytes: int, folder: Path) -> Path:
    """``path`` repeated into ``folder`` until it holds at least ``min_bytes``."""
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    copies = max(1, -(-min_bytes // len(data)))
    out = folder / f"{path.stem}.x{copies}.jsonl"
    with open(out, "wb") as handle:
        for _ in range(copies):
            handle.write(data)
    return out


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def orjson_only(path: Path) -> int:
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            orjson.loads(line)
            count += 1
    return count


def hasher() -> Callable[[list[Any]], np.ndarray]:
    """The FeatureHasher baseline, built before timing (imports scikit-learn)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from baselines import hasher_values  # noqa: PLC0415

    return hasher_values(DIM)


def hasher_to_npy(path: Path, out: Path, embed: Callable[[list[Any]], np.ndarray]) -> None:
    """Flatten + FeatureHasher, float32 rows appended to an .npy file batch by batch."""
    from jsonvec.writers import NpySink  # noqa: PLC0415

    sink = NpySink(str(out), DIM, {"codebook": "featurehasher", "dim": DIM})
    batch: list[Any] = []
    row = 0
    with open(path, "rb") as handle:
        for line in handle:
            batch.append(orjson.loads(line))
            if len(batch) == BATCH:
                sink.write(list(range(row, row + BATCH)), embed(batch))
                row += BATCH
                batch = []
    if batch:
        sink.write(list(range(row, row + len(batch))), embed(batch))
    sink.commit()


def cli_encode(path: Path, out: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``jsonvec encode`` in a child process."""
    command = [sys.executable, "-m", "jsonvec", "encode", str(path), "-o", str(out), "-q"]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"jsonvec encode failed on {path}")
    return seconds, usage.ru_maxrss / 1024


def library(path: Path) -> float:
    values = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    encoder = Encoder()
    return timed(lambda: encoder.encode_batch(values))


def measure(name: str, path: Path, folder: Path) -> str:
    megabytes = path.stat().st_size / 1e6
    n = orjson_only(path)
    floor = timed(lambda: orjson_only(path))
    try:
        embed = hasher()
        hashing: float | None = timed(lambda: hasher_to_npy(path, folder / "fh.npy", embed))
    except ImportError:
        hashing = None
    cli, rss = cli_encode(path, folder / "v.parquet")
    lib = library(path)

    def rate(seconds: float | None) -> str:
        return "—" if seconds is None else f"{n / seconds:,.0f} ({megabytes / seconds:.1f})"

    ratio_cb = "—" if hashing is None else f"{hashing / cli:.3f}"
    return (
        f"| {name} | {n:,} | {megabytes:.0f} | {rate(floor)} | {rate(hashing)} | "
        f"{rate(cli)} | {rate(lib)} | {ratio_cb} | {cli / floor:.0f} | {rss:,.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--corpus", action="append", help="corpus name (file stem), repeatable")
    parser.add_argument("--min-mb", type=float, default=50.0)
    parser.add_argument("--write", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no corpora at {args.data}: nothing to measure", file=sys.stderr)
        return
    names = args.corpus or list(DEFAULT_CORPORA)
    lines = [
        f"jsonvec {jsonvec.__version__}, Python {platform.python_version()}, numpy "
        f"{np.__version__}, {platform.machine()}, {os.cpu_count()} cores, dim {DIM}, default "
        f"codebook, one process; each corpus repeated to at least {args.min_mb:g} MB. Rates are "
        "records/s (MB/s).",
        "",
        "| corpus | records | MB | (a) orjson.loads | (b) FeatureHasher → .npy | "
        "(c) jsonvec encode → .parquet | (d) library batch | (c)/(b) | (a)/(c) | RSS of (c) MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            big = repeated(args.data / f"{name}.jsonl", int(args.min_mb * 1e6), Path(tmp))
            lines.append(measure(name, big, Path(tmp)))
            print(lines[-1], flush=True)
            big.unlink()
    if args.write:
        command = "python bench/speed.py " + " ".join(sys.argv[1:])
        args.write.write_text(
            f"# Encoding speed\n\nCommand: `{command.strip()}`\n\n" + "\n".join(lines) + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
