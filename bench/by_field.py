"""`similar --by-field` at scale: time and memory of one field query over N stored records.

Usage:  python bench/by_field.py [--sizes 100000 1000000] [--workdir build/bench]
                                 [--check] [--write docs/search.md]

For each size it writes N unique six-field records (a person: id, name, city, age, e-mail,
date joined), encodes them with `jsonvec encode --keep-records --id-field id` into Parquet,
and times the whole command `jsonvec similar FILE --by-field QUERY -n 10` for a query of two
fields, one with a typo: best of 3 runs with the file in the page cache, with its peak RSS
and its peak anonymous memory (RssAnon, polled every 10 ms: memory-mapped file pages are not
in it). --check also ranks in this process the way jsonvec 0.4.0.dev0 did before streaming
(every field score, then every row's cosine, one sort) and compares the hits.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search import tabulate, time_command

import jsonvec

QUERY = {"name": "Maria Gonzalze", "city": "Osaka"}  # a swapped pair in the surname
SYLLABLES = ["ma", "ri", "a", "jo", "han", "na", "li", "sa", "ke", "vin", "to", "mo", "ra", "el"]
SURNAMES = ["Gonzalez", "Smith", "Tanaka", "Muller", "Rossi", "Kowalski", "Silva", "Dubois"]
CITIES = ["Osaka", "Paris", "Lima", "Oslo", "Quito", "Lyon", "Accra", "Hanoi", "Perth", "Cusco"]


def make_records(path: Path, n: int, seed: int = 0) -> None:
    """``n`` unique records of six fields, as JSON Lines."""
    rng = random.Random(seed)
    with open(path, "wb") as out:
        for i in range(n):
            first = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).title()
            last = rng.choice(SURNAMES) + ("" if rng.random() < 0.5 else f"-{rng.randint(1, 99)}")
            joined = f"20{rng.randint(10, 26)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            record = {
                "id": f"u{i}",
                "name": f"{first} {last}",
                "city": rng.choice(CITIES),
                "age": rng.randint(18, 90),
                "email": f"{first.lower()}.{last.lower()}{i}@example.org",
                "joined": joined,
            }
            out.write(orjson.dumps(record) + b"\n")


def previous_ranking(vectors: Path) -> list[object]:
    """The hits as jsonvec ranked them before streaming: all scores, all cosines, one sort."""
    from jsonvec.search.field_search import cosines  # noqa: PLC0415
    from jsonvec.search.fields import field_scores, ranked  # noqa: PLC0415
    from jsonvec.storage.collection import Collection  # noqa: PLC0415

    collection = Collection.open([str(vectors)])
    queries = jsonvec.encode_batch([QUERY])
    scores = field_scores([QUERY], collection.all_records())
    rows, _ = ranked(scores, cosines(collection, queries), 10)
    return collection.ids([int(r) for r in rows[0]])


def measure(n: int, workdir: Path, check: bool) -> str:
    records = workdir / f"people_{n}.jsonl"
    vectors = workdir / f"people_{n}.parquet"
    if not records.exists():
        make_records(records, n)
    if not vectors.exists():
        jsonvec.encode_file(records, vectors, id_field="id", keep_records=True, jobs=2)
    command = [sys.executable, "-m", "jsonvec", "similar", str(vectors), "--by-field",
               orjson.dumps(QUERY).decode(), "-n", "10"]  # fmt: skip
    time_command(command, runs=1)  # warm-up: the file into the page cache
    timing = time_command(command)
    same = ""
    if check:
        import subprocess  # noqa: PLC0415

        done = subprocess.run(command, capture_output=True, check=True)
        hits = [orjson.loads(line)["id"] for line in done.stdout.splitlines()]
        started = time.perf_counter()
        same = " | yes" if hits == previous_ranking(vectors) else " | **no**"
        print(f"  previous ranking: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    size = vectors.stat().st_size / 1e9
    return (
        f"| {n:,} | {size:.2f} | {timing['seconds']:.2f} | {timing['rss_mb']:,.0f} | "
        f"{timing['anon_mb']:,.0f}{same} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("build/bench"))
    parser.add_argument("--check", action="store_true", help="compare with the old ranking")
    parser.add_argument("--write", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    lines = [
        f"Command: `python bench/by_field.py {' '.join(sys.argv[1:])}`; query "
        f"`{orjson.dumps(QUERY).decode()}`, top-10, {platform.machine()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}.",
        "",
        "| records | Parquet GB | `similar --by-field` s | peak RSS MB | peak RssAnon MB"
        + (" | same hits as before |" if args.check else " |"),
        "|---:|---:|---:|---:|---:|" + ("---|" if args.check else ""),
    ]
    tabulate(lines, args.sizes, lambda n: [measure(n, args.workdir, args.check)], args.write,
             "by-field")  # fmt: skip


if __name__ == "__main__":
    main()
