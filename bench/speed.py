"""Encoding speed and memory against the floor (orjson) and the usual alternative (FeatureHasher).

Usage:  python bench/speed.py [--data DIR] [--corpus NAME ...] [--min-mb 20] [--jobs 2]
                              [--synthetic-gb 2] [--no-memory] [--write docs/performance.md]

Inputs, for every corpus of ../shared/data and for two built here, GeoJSON-style coordinate
rings and project records with 1-5 KB descriptions:

- cold: the corpus file itself, once, in a fresh process;
- unique: the corpus grown to --min-mb MB with copies in which every value is new (numbers
  moved, strings edited), as logs and event feeds are;
- warm: the corpus repeated to --min-mb MB (values recur).

Measured on each (records/s):

- orjson: ``orjson.loads`` of every line, alone: the floor for a Python tool;
- baseline: orjson, flatten to ``path → number`` and ``path=value → 1`` pairs, scikit-learn
  ``FeatureHasher(input_type="pair")``, float32 rows written to an .npy file, end to end in a
  process of its own (``bench/baselines.py``), as the command line is; baseline-lib is the
  same on parsed records, without reading or writing;
- jsonvec-lib: ``Encoder.encode_batch`` on the parsed records (batches of 1024, a fresh
  encoder, Python's garbage collector off for both libraries);
- ``jsonvec encode FILE -o X.npy --jobs 1`` (cli), the same to ``.parquet``, and with
  ``--jobs 2``, whose files must be byte-identical to ``--jobs 1``'s.

Then the peak RSS of single huge lines and of a --synthetic-gb file, and start-up on a
one-record input. Command-line runs are timed best of two (this machine shares its cores).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jsonvec
from jsonvec import Encoder
from jsonvec.encoding.encoder import implementation

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
HERE = Path(__file__).resolve().parent
BATCH = 1024
DIM = 1024


# -- inputs ---------------------------------------------------------------------------------


def records_of(path: Path) -> list[Any]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def edited(value: Any, copy: int) -> Any:
    """``value`` with every number moved and every string edited (``copy`` > 0)."""
    if isinstance(value, dict):
        return {k: edited(v, copy) for k, v in value.items()}
    if isinstance(value, list):
        return [edited(v, copy) for v in value]
    if isinstance(value, str):
        return f"{value}~{copy:x}" if len(value) < 12 else f"{value[:-6]}{copy:06x}"
    if isinstance(value, float):
        return value * (1.0 + copy * 1e-6) + copy * 1e-9
    if isinstance(value, int) and not isinstance(value, bool):
        return value + copy * 1_000_003
    return value


def grown(source: Path, folder: Path, min_bytes: int, unique: bool) -> Path:
    """``source`` copied until ``min_bytes``: copies with new values (unique) or the same."""
    data = source.read_bytes()
    records = records_of(source)
    out = folder / f"{source.stem}.{'unique' if unique else 'warm'}.jsonl"
    written, copy = 0, 0
    with open(out, "wb") as handle:
        while written < min_bytes:
            if unique and copy:
                chunk = b"".join(orjson.dumps(edited(r, copy)) + b"\n" for r in records)
            else:
                chunk = data if data.endswith(b"\n") else data + b"\n"
            handle.write(chunk)
            written += len(chunk)
            copy += 1
    return out


def rings(path: Path, count: int = 300, seed: int = 11) -> Path:
    """GeoJSON-style features: most rings of 4 to 40 points, one in ten of 10k to 30k points."""
    rng = random.Random(seed)
    with open(path, "wb") as handle:
        for i in range(count):
            points = rng.randint(10_000, 30_000) if rng.random() < 0.1 else rng.randint(4, 40)
            x, y = rng.uniform(-170, 170), rng.uniform(-80, 80)
            ring = []
            for _ in range(points):
                x += rng.uniform(-0.01, 0.01)
                y += rng.uniform(-0.01, 0.01)
                ring.append([round(x, 6), round(y, 6)])
            feature = {
                "type": "Feature",
                "id": f"f{i:05d}",
                "properties": {"name": f"area {i}", "kind": rng.choice(["park", "lake", "zone"])},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
            handle.write(orjson.dumps(feature) + b"\n")
    return path


def descriptions(path: Path, count: int = 2000, seed: int = 12) -> Path:
    """Project records with long texts: a name, a few fields and a 1-5 KB description of words
    drawn from a made-up vocabulary of 5,000 (long text is where a string's cost is)."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "ve", "so", "pri", "dan", "el", "gor", "fu"]
    vocabulary = [
        "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(5000)
    ]
    with open(path, "wb") as handle:
        for i in range(count):
            words: list[str] = []
            size, target = 0, rng.randint(1000, 5000)
            while size < target:
                word = rng.choice(vocabulary)
                words.append(word)
                size += len(word) + 1
            record = {
                "id": f"p{i:06d}",
                "name": " ".join(rng.choice(vocabulary) for _ in range(2)),
                "stars": rng.randint(0, 50_000),
                "language": rng.choice(["Python", "Rust", "Go", "C", "TypeScript"]),
                "topics": rng.sample(vocabulary[:200], rng.randint(0, 6)),
                "description": " ".join(words),
            }
            handle.write(orjson.dumps(record) + b"\n")
    return path


BUILT = {"rings": rings, "descriptions": descriptions}


# -- measurements ---------------------------------------------------------------------------


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def orjson_seconds(path: Path) -> float:
    lines = path.read_bytes().splitlines()
    loads = orjson.loads
    return timed(lambda: [loads(line) for line in lines if line.strip()])


def library_seconds(records: list[Any], encode: Callable[[list[Any]], Any]) -> float:
    """Time to encode ``records`` a batch at a time, each batch's vectors dropped before the
    next (as a stream is encoded: keeping millions of rows would time the page faults of
    gigabytes of new memory instead, the same for every method)."""

    def run() -> None:
        for i in range(0, len(records), BATCH):
            encode(records[i : i + BATCH])

    gc.disable()
    try:
        return timed(run)
    finally:
        gc.enable()


def command_seconds(command: list[str], best_of: int = 2) -> tuple[float, float]:
    """Best wall time of ``command`` and its peak RSS in MB (GNU time: largest process)."""
    best, rss = float("inf"), 0.0
    for _ in range(best_of):
        os.sync()
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *command], capture_output=True, check=False
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{command} failed: {done.stderr.decode()[-2000:]}")
        if seconds < best:
            best, rss = seconds, int(done.stderr.split()[-1]) / 1024
    return best, rss


def write_seconds(rows: int, path: Path, best_of: int = 2) -> float:
    """Best time to write ``rows`` zero vectors to an .npy file and sync it: what the output
    alone costs on this disk, whatever made the vectors."""
    block = np.zeros((BATCH, DIM), dtype="<f4")
    best = float("inf")
    for _ in range(best_of):
        os.sync()
        started = time.perf_counter()
        with open(path, "wb") as handle:
            np.lib.format.write_array_header_1_0(
                handle, {"descr": "<f4", "fortran_order": False, "shape": (rows, DIM)}
            )
            for i in range(0, rows, BATCH):
                handle.write(block[: min(BATCH, rows - i)].data)
            handle.flush()
            os.fsync(handle.fileno())
        best = min(best, time.perf_counter() - started)
        path.unlink()
    return best


def jsonvec_command(path: Path, out: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "jsonvec", "encode", str(path), "-o", str(out), "-q",
            "--jobs", str(jobs)]  # fmt: skip


def digest(path: Path) -> str:
    h = hashlib.sha256()
    for part in sorted(path.parent.glob(path.name + "*")):
        h.update(part.read_bytes())
    return h.hexdigest()


def clean(folder: Path, prefix: str) -> None:
    for path in folder.glob(prefix + "*"):
        path.unlink()


def measure(path: Path, folder: Path, jobs: int, cli: bool) -> dict[str, Any]:
    """Every rate for one input file."""
    records = records_of(path)
    n = len(records)
    row: dict[str, Any] = {"records": n, "mb": path.stat().st_size / 1e6}
    row["orjson"] = n / orjson_seconds(path)
    from baselines import hasher_pairs  # noqa: PLC0415 - scikit-learn, the bench extra

    row["base_lib"] = n / library_seconds(records, hasher_pairs(DIM))
    row["lib"] = n / library_seconds(records, Encoder().encode_batch)
    if not cli:
        return row
    baseline = [sys.executable, str(HERE / "baselines.py"), str(path), str(folder / "fh.npy")]
    row["base"] = n / command_seconds(baseline)[0]
    clean(folder, "fh")
    row["write"] = n / write_seconds(n, folder / "floor.npy")
    for suffix in (".npy", ".parquet"):
        one, rss = command_seconds(jsonvec_command(path, folder / f"one{suffix}", 1))
        two, _ = command_seconds(jsonvec_command(path, folder / f"two{suffix}", jobs))
        row[f"cli{suffix}"], row[f"cli2{suffix}"] = n / one, n / two
        row[f"rss{suffix}"] = rss
        row[f"same{suffix}"] = digest(folder / f"one{suffix}") == digest(folder / f"two{suffix}")
        clean(folder, "one")
        clean(folder, "two")
    return row


# -- tables ---------------------------------------------------------------------------------


def rate(value: float) -> str:
    return f"{value:,.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}"


def tables(results: dict[str, dict[str, dict[str, Any]]], jobs: int) -> list[str]:
    out = [
        "### Library: records/s, and jsonvec against FeatureHasher on parsed records",
        "",
        "| corpus | cold | cold FH | **ratio** | unique | unique FH | **ratio** | warm | warm FH "
        "| ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, modes in results.items():
        cells = [name]
        for mode in ("cold", "unique", "warm"):
            r = modes[mode]
            cells += [rate(r["lib"]), rate(r["base_lib"]), ratio(r["lib"], r["base_lib"])]
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "### Command line: records/s end to end, against the baseline end to end",
        "",
        f"Unique records. cli = `--jobs 1`; cli{jobs} = `--jobs {jobs}`; x orjson = the time of "
        "`--jobs 1` to .npy over the time of `orjson.loads` alone; write = records/s of "
        "writing as many zero vectors to an .npy file and syncing it (no reading, no "
        "encoding: the output's own floor); identical = `--jobs 1` and "
        f"`--jobs {jobs}` wrote the same bytes (both formats).",
        "",
        "| corpus | baseline | µs/rec | cli .npy | **ratio** | cli .parquet | **ratio** | "
        f"x orjson | write | cli{jobs} .npy | **{jobs} / 1** | cli{jobs} .parquet | {jobs} / 1 | "
        "identical | RSS MB |",
        "|---|" + "---:|" * 13 + "---|---:|",
    ]
    for name, modes in results.items():
        r = modes["unique"]
        out.append(
            f"| {name} | {rate(r['base'])} | {1e6 / r['base']:.1f} | {rate(r['cli.npy'])} | "
            f"{ratio(r['cli.npy'], r['base'])} | {rate(r['cli.parquet'])} | "
            f"{ratio(r['cli.parquet'], r['base'])} | {r['orjson'] / r['cli.npy']:.1f} | "
            f"{rate(r['write'])} | {rate(r['cli2.npy'])} | {ratio(r['cli2.npy'], r['cli.npy'])} | "
            f"{rate(r['cli2.parquet'])} | {ratio(r['cli2.parquet'], r['cli.parquet'])} | "
            f"{'yes' if r['same.npy'] and r['same.parquet'] else 'NO'} | "
            f"{max(r['rss.npy'], r['rss.parquet']):,.0f} |"
        )
    out += ["", "### Command line on cold input (each corpus once)", ""]
    out += ["| corpus | records | baseline | cli .npy | ratio | cli .parquet | ratio |"]
    out += ["|---|---:|---:|---:|---:|---:|---:|"]
    for name, modes in results.items():
        r = modes["cold"]
        if "base" in r:
            out.append(
                f"| {name} | {r['records']:,} | {rate(r['base'])} | {rate(r['cli.npy'])} | "
                f"{ratio(r['cli.npy'], r['base'])} | {rate(r['cli.parquet'])} | "
                f"{ratio(r['cli.parquet'], r['base'])} |"
            )
    return [*out, "", *summary(results, jobs)]


def summary(results: dict[str, dict[str, dict[str, Any]]], jobs: int) -> list[str]:
    def ratios(mode: str, a: str, b: str) -> list[float]:
        return [m[mode][a] / m[mode][b] for m in results.values() if b in m[mode]]

    lines = ["### Against the targets", ""]
    for mode in ("cold", "unique"):
        values = ratios(mode, "lib", "base_lib")
        lines.append(
            f"- Library, {mode}: jsonvec / FeatureHasher from {min(values):.2f} to "
            f"{max(values):.2f}, median {statistics.median(values):.2f} (target: ≥ 1.5 median)."
        )
    npy = ratios("unique", "cli.npy", "base")
    lines.append(
        f"- Command line, unique, to .npy: from {min(npy):.2f} to {max(npy):.2f} of the "
        f"baseline, median {statistics.median(npy):.2f} (target: ≥ 1.0 on every corpus)."
    )
    slow = [m["unique"] for m in results.values() if 1e6 / m["unique"]["base"] >= 10]
    parquet = [r["cli.parquet"] / r["base"] for r in slow]
    if parquet:
        lines.append(
            f"- To Parquet, where the baseline needs ≥ 10 µs a record ({len(parquet)} corpora): "
            f"from {min(parquet):.2f} to {max(parquet):.2f} (target: ≥ 1.0)."
        )
    cost = [m["unique"]["orjson"] / m["unique"]["cli.npy"] for m in results.values()]
    lines.append(
        f"- Command line against orjson.loads: median {statistics.median(cost):.1f}x "
        "(target: ≤ 5x, stretch 3x)."
    )
    two = ratios("unique", "cli2.npy", "cli.npy")
    lines.append(
        f"- `--jobs {jobs}` against `--jobs 1` (.npy): from {min(two):.2f} to {max(two):.2f}, "
        f"median {statistics.median(two):.2f} (target: ≥ 1.7 median, ≥ 1.5 on every corpus)."
    )
    return lines


# -- memory and start-up --------------------------------------------------------------------


def huge_lines(folder: Path) -> Iterator[tuple[str, Path]]:
    rng = random.Random(1)
    cases: dict[str, Callable[[], Any]] = {
        "a line of 1,000,000 distinct numbers": lambda: {
            "xs": [rng.random() * 1e6 for _ in range(1_000_000)]
        },
        "a line of 300,000 distinct strings": lambda: {
            "xs": [f"w{rng.getrandbits(60):x}" for _ in range(300_000)]
        },
        "an object of 200,000 keys": lambda: {f"k{i}": i for i in range(200_000)},
        "a 10 MB string": lambda: {
            "t": " ".join(f"{rng.getrandbits(30):x}" for _ in range(1_300_000))[:10_000_000]
        },
    }
    for name, make in cases.items():
        path = folder / "huge.jsonl"
        path.write_bytes(orjson.dumps(make()) + b"\n")
        yield name, path


def memory_rows(folder: Path, synthetic_gb: float, jobs: int) -> list[str]:
    rows = [
        "### Memory",
        "",
        "| input | size MB | seconds | peak RSS MB (largest process) |",
        "|---|---:|---:|---:|",
    ]
    for name, path in huge_lines(folder):
        seconds, rss = command_seconds(jsonvec_command(path, folder / "huge.npy", 1), 1)
        rows.append(f"| {name} | {path.stat().st_size / 1e6:.1f} | {seconds:.1f} | {rss:,.0f} |")
        print(rows[-1], flush=True)
        clean(folder, "huge")
    if synthetic_gb:
        path = folder / "synthetic.jsonl"
        target = int(synthetic_gb * 1e9)
        rng = random.Random(20261127)
        with open(path, "wb") as handle:
            count = 0
            while handle.tell() < target:
                base = [
                    {"id": f"r{count + j:09d}", "v": rng.random(), "t": f"w{rng.getrandbits(40):x}",
                     "tags": [rng.randint(0, 99) for _ in range(rng.randint(0, 4))],
                     "user": {"name": f"u{rng.getrandbits(20)}", "age": rng.randint(16, 90)}}
                    for j in range(10_000)
                ]  # fmt: skip
                handle.write(b"".join(orjson.dumps(r) + b"\n" for r in base))
                count += len(base)
        size = path.stat().st_size / 1e6
        for label, count_jobs in (("1", 1), (str(jobs), jobs)):
            out = folder / "synthetic.parquet"
            seconds, rss = command_seconds(jsonvec_command(path, out, count_jobs), 1)
            rows.append(
                f"| {size / 1000:.1f} GB file, `--jobs {label}`, to .parquet | {size:,.0f} | "
                f"{seconds:.0f} | {rss:,.0f} |"
            )
            print(rows[-1], flush=True)
            clean(folder, "synthetic.parquet")
        path.unlink()
    one = folder / "one.jsonl"
    one.write_bytes(b'{"a": 1}\n')
    start = min(command_seconds(jsonvec_command(one, folder / "one.npy", 1), 1)[0]
                for _ in range(5))  # fmt: skip
    rows += ["", f"Start-up, `jsonvec encode` of a one-record input: {start:.2f} s (best of 5)."]
    return rows


def warm_up(folder: Path) -> None:
    """Touch 2 GB of memory through the page cache once: this machine hands out fresh memory
    slowly the first time, which would count against whichever run came first."""
    block = np.ones(1 << 24, dtype=np.float32)
    path = folder / "warm-up.bin"
    with open(path, "wb") as handle:
        for _ in range(32):
            handle.write(block.data)
    path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--corpus", action="append", help="corpus name (file stem), repeatable")
    parser.add_argument("--min-mb", type=float, default=20.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--synthetic-gb", type=float, default=0.0)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--write", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args()
    names = args.corpus or [*sorted(p.stem for p in args.data.glob("*.jsonl")), *BUILT]
    head = (
        f"jsonvec {jsonvec.__version__} ({implementation()}), Python "
        f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} cores, dim {DIM}, default codebook; unique and warm inputs of at "
        f"least {args.min_mb:g} MB."
    )
    print(head, flush=True)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        folder = Path(tmp)
        warm_up(folder)
        for name in names:
            source = (
                BUILT[name](folder / f"{name}.jsonl")
                if name in BUILT
                else args.data / f"{name}.jsonl"
            )
            modes = {"cold": measure(source, folder, args.jobs, True)}
            for mode in ("unique", "warm"):
                path = grown(source, folder, int(args.min_mb * 1e6), mode == "unique")
                modes[mode] = measure(path, folder, args.jobs, mode == "unique")
                path.unlink()
            results[name] = modes
            print(name, modes, flush=True)
        lines = [head, "", *tables(results, args.jobs)]
        if not args.no_memory:
            lines += ["", *memory_rows(folder, args.synthetic_gb, args.jobs)]
    print("\n".join(lines))
    if args.write:
        command = "python bench/speed.py " + " ".join(sys.argv[1:])
        text = "\n".join(lines)
        args.write.write_text(
            f"# Encoding speed\n\nCommand: `{command.strip()}`\n\n{text}\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
