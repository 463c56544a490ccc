"""jsonvec on a local Dask cluster against `jsonvec encode --jobs N`, on the same input and cores.

Usage:  python bench/scale.py [--data DIR] [--mb 500] [--partition-size BYTES]
                              [--min-record-bytes N] [--repeat N]

The input: every corpus of ../shared/data (with --min-record-bytes, those whose records
average at least N bytes) grown with unique copies (bench/speed.py) and concatenated to at
least --mb MB. Vectors are 4 KB a record whatever its size: an input of small records is
mostly output to write (measure the disk with `dd ... conv=fdatasync`), one of large records
mostly encoding. Timed, best of one (each run is long): `jsonvec encode
INPUT -o X.parquet --jobs 1` and `--jobs 2`; `jsonvec.dask.encode_files` on a LocalCluster of
1 and 2 single-threaded worker processes (the cluster started before the clock, as an existing
cluster would be). Scheduler overhead per partition: the same input cut in 16x more
partitions, the extra time over the extra partitions.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import speed

from jsonvec.dask import encode_files

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def corpora(data: Path, min_record_bytes: int = 0) -> list[Path]:
    """The corpora whose records average at least ``min_record_bytes`` bytes."""
    found = []
    for source in sorted(data.glob("*.jsonl")):
        with open(source, "rb") as lines:
            count = sum(1 for line in lines if line.strip())
        if source.stat().st_size >= min_record_bytes * max(count, 1):
            found.append(source)
    return found


def build(data: Path, folder: Path, mb: float, min_record_bytes: int = 0) -> Path:
    """Unique copies of the corpora, concatenated to at least ``mb`` MB."""
    target = folder / "input.jsonl"
    sources = corpora(data, min_record_bytes)
    per = int(mb * 1e6 / len(sources)) + 1
    with open(target, "wb") as out:
        while out.tell() < mb * 1e6:
            for source in sources:
                grown = speed.grown(source, folder, per, True)
                out.write(grown.read_bytes())
                grown.unlink()
    return target


def local(path: Path, folder: Path, jobs: int) -> float:
    out = folder / "local.parquet"
    started = time.perf_counter()
    command = [sys.executable, "-m", "jsonvec", "encode", str(path), "-o", str(out), "-q",
               "--jobs", str(jobs)]  # fmt: skip
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - started
    out.unlink()
    return seconds


def on_dask(path: Path, folder: Path, workers: int, size: int) -> tuple[float, int]:
    from distributed import Client, LocalCluster  # noqa: PLC0415

    out = folder / "parts"
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)  # fmt: skip
    with cluster, Client(cluster) as client:
        started = time.perf_counter()
        encode_files([str(path)], str(out), partition_size=size, client=client)
        seconds = time.perf_counter() - started
    parts = len(list(out.glob("part-*.parquet")))
    shutil.rmtree(out)
    return seconds, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--mb", type=float, default=500.0)
    parser.add_argument("--partition-size", type=int, default=64 << 20)
    parser.add_argument("--min-record-bytes", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        folder = Path(tmp)
        path = build(args.data, folder, args.mb, args.min_record_bytes)
        size = path.stat().st_size
        with open(path, "rb") as lines:
            records = sum(1 for line in lines if line.strip())
        names = ", ".join(p.stem for p in corpora(args.data, args.min_record_bytes))
        print(f"input: {size / 1e6:,.0f} MB, {records:,} records "
              f"({size / records:,.0f} bytes each; {records * 4096 / 1e9:,.1f} GB of vectors) "
              f"from {names}", flush=True)  # fmt: skip
        rows = ["| run | seconds | records/s | MB/s | against one |", "|---|---:|---:|---:|---:|"]
        base: dict[str, float] = {}
        for label, run in (
            ("jsonvec encode --jobs 1", lambda: local(path, folder, 1)),
            ("jsonvec encode --jobs 2", lambda: local(path, folder, 2)),
            ("Dask, 1 worker", lambda: on_dask(path, folder, 1, args.partition_size)[0]),
            ("Dask, 2 workers", lambda: on_dask(path, folder, 2, args.partition_size)[0]),
        ):
            seconds = min(run() for _ in range(args.repeat))
            one = base.setdefault(label.split(",")[0].split(" --")[0], seconds)
            rows.append(f"| {label} | {seconds:.1f} | {records / seconds:,.0f} | "
                        f"{size / 1e6 / seconds:.1f} | {one / seconds:.2f} |")  # fmt: skip
            print(rows[-1], flush=True)
        coarse, few = min(on_dask(path, folder, 2, args.partition_size) for _ in range(args.repeat))
        fine, many = min(
            on_dask(path, folder, 2, args.partition_size // 16) for _ in range(args.repeat)
        )
        overhead = (fine - coarse) / max(many - few, 1)
        rows.append("")
        rows.append(
            f"Partitions: {few} of {args.partition_size >> 20} MB in {coarse:.1f} s, {many} of "
            f"{args.partition_size >> 24} MB in {fine:.1f} s: {overhead * 1000:.0f} ms more per "
            "partition (2 workers)."
        )
        print("\n".join(rows))


if __name__ == "__main__":
    main()
