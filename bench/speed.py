"""Encoding speed against the floor (orjson) and the usual alternative (FeatureHasher).

Usage:  python bench/speed.py [--data DIR] [--corpus NAME ...] [--min-mb 50] [--jobs N]
                              [--synthetic-gb 2] [--write docs/performance.md]

Each corpus is repeated into a temporary file of at least --min-mb megabytes, so steady state
is measured, then, on that same file and at dim 1024:

(a) ``orjson.loads`` of every line alone — the floor for a Python tool;
(b) flatten + scikit-learn ``FeatureHasher`` (path=value tokens, numbers as values) writing the
    same float32 vectors to an .npy file, in batches of 1024 (needs the ``bench`` extra);
(c) ``jsonvec encode FILE -o X.parquet --jobs 1`` end to end, in a subprocess (its peak RSS
    from GNU ``time``: the largest of the process and its workers);
(c') the same writing .npy (the format (b) writes), to show what Parquet costs;
(d) the library's batch encoder alone on the parsed records, batches of 1024, one pass
    over the file (``cold``: a fresh encoder on the corpus file itself, every record new);
(e) ``jsonvec encode ... --jobs N`` (all cores by default), whose output must be
    byte-identical to (c)'s;
(f) the same leaves bound by dense Haar matrices (bench/families.py) on the first 100
    records, second pass (roles already drawn).

It prints records/s and MB/s for each and the ratios (c)/(b), (c')/(b), (a)/(c), (e)/(c) and
(d)/(f).
--synthetic-gb also generates a synthetic JSON Lines file of that size (unique records:
nested objects, arrays, free text, numbers) and reports the rate and peak RSS of (c) and
(e) on it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jsonvec
from jsonvec import Encoder
from jsonvec.batches import default_jobs

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
BATCH = 1024
DIM = 1024
HAAR_SAMPLE = 100


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
    os.sync()
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


def cli_encode(path: Path, out: Path, jobs: int) -> tuple[float, float]:
    """Seconds and peak RSS in MB of ``jsonvec encode`` (the largest of its processes).

    The command runs under GNU ``time``: a child's peak RSS as the kernel reports it includes
    the memory of the process that spawned it, so the spawner must be small.
    """
    command = [sys.executable, "-m", "jsonvec", "encode", str(path), "-o", str(out), "-q"]
    os.sync()  # the previous run's output must not be written back during this one
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *command, "--jobs", str(jobs)],
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"jsonvec encode failed on {path}: {done.stderr.decode()}")
    return seconds, int(done.stderr.split()[-1]) / 1024


def library(values: list[Any], encoder: Encoder) -> float:
    def run() -> None:
        for start in range(0, len(values), BATCH):
            encoder.encode_batch(values[start : start + BATCH])

    return timed(run)


def haar_rate(values: list[Any]) -> float:
    from families import HaarEncoder  # noqa: PLC0415

    sample = values[:HAAR_SAMPLE]
    encoder = HaarEncoder()
    encoder.encode_batch(sample)
    return len(sample) / timed(lambda: encoder.encode_batch(sample))


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def remove(folder: Path, stem: str) -> None:
    for path in folder.glob(f"{stem}.*"):
        path.unlink()


def measure(name: str, source: Path, path: Path, folder: Path, jobs: int) -> str:
    megabytes = path.stat().st_size / 1e6
    n = orjson_only(path)
    floor = timed(lambda: orjson_only(path))
    try:
        embed = hasher()
        hashing: float | None = timed(lambda: hasher_to_npy(path, folder / "fh.npy", embed))
        remove(folder, "fh")
    except ImportError:
        hashing = None
    npy, _ = cli_encode(path, folder / "one.npy", 1)
    remove(folder, "one")
    one, rss = cli_encode(path, folder / "one.parquet", 1)
    expected = digest(folder / "one.parquet")
    remove(folder, "one")
    many, _ = cli_encode(path, folder / "many.parquet", jobs)
    identical = digest(folder / "many.parquet") == expected
    remove(folder, "many")
    values = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    lib = library(values, Encoder())
    corpus = [orjson.loads(line) for line in source.read_bytes().splitlines() if line.strip()]
    cold = len(corpus) / library(corpus, Encoder())
    haar = haar_rate(corpus)
    del values

    def rate(seconds: float | None) -> str:
        return "—" if seconds is None else f"{n / seconds:,.0f} ({megabytes / seconds:.1f})"

    ratio_cb = "—" if hashing is None else f"**{hashing / one:.2f}**"
    ratio_npy = "—" if hashing is None else f"{hashing / npy:.2f}"
    return (
        f"| {name} | {n:,} | {megabytes:.0f} | {rate(floor)} | {rate(hashing)} | "
        f"{rate(one)} | {rate(npy)} | {rate(lib)} | {cold:,.0f} | {rate(many)} | {ratio_cb} | "
        f"{ratio_npy} | "
        f"{one / floor:.1f} | {one / many:.2f}{'' if identical else ' (DIFFERENT)'} | "
        f"{rss:,.0f} | {haar:,.0f} | {n / lib / haar:.0f} |"
    )


WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "red",
    "green",
    "blue",
    "amber",
    "silver",
    "north",
    "south",
    "east",
    "west",
    "river",
    "stone",
    "cloud",
    "field",
    "market",
    "station",
]


def synthetic_record(i: int, rng: random.Random) -> dict[str, Any]:
    """A record with unique ids and text, nested objects, arrays, numbers and booleans."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 30))]
    return {
        "id": f"r{i:09d}",
        "user": {
            "name": f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}{rng.randint(1, 999)}",
            "age": rng.randint(16, 90),
            "email": f"user{rng.randint(0, 10**7)}@example.{rng.choice(['org', 'com', 'net'])}",
            "verified": rng.random() < 0.3,
        },
        "text": " ".join(words),
        "tags": rng.sample(WORDS, rng.randint(0, 5)),
        "score": round(rng.gauss(50, 15), 3),
        "created": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
        "geo": {"lat": rng.uniform(-90, 90), "lon": rng.uniform(-180, 180)},
        "items": [
            {
                "sku": f"S{rng.randint(0, 99999):05d}",
                "qty": rng.randint(1, 9),
                "price": 0.01 * rng.randint(1, 99999),
            }
            for _ in range(rng.randint(0, 3))
        ],
        "parent": None if rng.random() < 0.5 else f"r{rng.randint(0, i + 1):09d}",
    }


def synthetic(path: Path, gigabytes: float) -> int:
    rng = random.Random(20261127)
    target = int(gigabytes * 1e9)
    written = count = 0
    with open(path, "wb") as handle:
        while written < target:
            lines = [orjson.dumps(synthetic_record(count + j, rng)) + b"\n" for j in range(10000)]
            chunk = b"".join(lines)
            handle.write(chunk)
            written += len(chunk)
            count += len(lines)
    return count


def measure_synthetic(gigabytes: float, folder: Path, jobs: int) -> list[str]:
    path = folder / "synthetic.jsonl"
    n = synthetic(path, gigabytes)
    size = path.stat().st_size / 1e6
    rows = []
    for label, count in (("1", 1), (str(jobs), jobs)):
        seconds, rss = cli_encode(path, folder / "synthetic.parquet", count)
        rows.append(
            f"| {label} | {n:,} | {size:,.0f} | {n / seconds:,.0f} ({size / seconds:.1f}) | "
            f"{seconds:,.0f} | {rss:,.0f} |"
        )
        print(rows[-1], flush=True)
        (folder / "synthetic.parquet").unlink()
    path.unlink()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--corpus", action="append", help="corpus name (file stem), repeatable")
    parser.add_argument("--min-mb", type=float, default=50.0)
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="for (e)")
    parser.add_argument("--synthetic-gb", type=float, default=0.0)
    parser.add_argument("--write", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no corpora at {args.data}: nothing to measure", file=sys.stderr)
        return
    names = args.corpus or sorted(p.stem for p in args.data.glob("*.jsonl"))
    lines = [
        f"jsonvec {jsonvec.__version__}, Python {platform.python_version()}, numpy "
        f"{np.__version__}, {platform.machine()}, {os.cpu_count()} cores, dim {DIM}, default "
        f"codebook; each corpus repeated to at least {args.min_mb:g} MB. Rates are records/s "
        "(MB/s); (c) is one process, (e) uses --jobs "
        f"{args.jobs}; RSS is the peak of (c).",
        "",
        "| corpus | records | MB | (a) orjson.loads | (b) FeatureHasher → .npy | "
        "(c) jsonvec encode → .parquet | (c') → .npy | (d) library batch | (d) cold | "
        f"(e) --jobs {args.jobs} | (c)/(b) | (c')/(b) | (a)/(c) | (e)/(c) | RSS MB | "
        "(f) dense Haar | (d)/(f) |",
        "|---|" + "---:|" * 16,
    ]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        folder = Path(tmp)
        for name in names:
            source = args.data / f"{name}.jsonl"
            big = repeated(source, int(args.min_mb * 1e6), folder)
            lines.append(measure(name, source, big, folder, args.jobs))
            print(lines[-1], flush=True)
            big.unlink()
        synthetic_rows = []
        if args.synthetic_gb:
            synthetic_rows = [
                "",
                f"Synthetic input, {args.synthetic_gb:g} GB of unique records "
                "(`bench/speed.py --synthetic-gb`), `jsonvec encode FILE -o X.parquet --jobs J`:",
                "",
                "| jobs | records | MB | records/s (MB/s) | seconds | peak RSS MB (largest "
                "process) |",
                "|---:|---:|---:|---:|---:|---:|",
            ]
            print("\n".join(synthetic_rows), flush=True)
            synthetic_rows += measure_synthetic(args.synthetic_gb, folder, args.jobs)
    if args.write:
        command = "python bench/speed.py " + " ".join(sys.argv[1:])
        text = "\n".join(lines + synthetic_rows)
        args.write.write_text(
            f"# Encoding speed\n\nCommand: `{command.strip()}`\n\n{text}\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
