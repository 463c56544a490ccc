"""Search speed and recall: exact numpy search against the usearch ANN extra (a benchmark).

Usage:  python bench/search.py [--sizes 100000 1000000] [--dim 1024] [--workdir build/bench]
                               [--write docs/search.md]
        python bench/search.py --formats [--sizes 1000000] [--write docs/search.md]
        python bench/search.py --update [--sizes 100000] [--write docs/search.md]
        python bench/search.py --dtypes [--sizes 1000000] [--write docs/search.md]

For each size it writes synthetic record vectors to an .npy collection (with the sidecars that
`jsonvec encode` writes), then measures, each in a fresh process so peak memory is its own:
exact search (`jsonvec.search.exact.CollectionSearch`, chunked over the memory-mapped file)
and the ANN index (`jsonvec index build` defaults: HNSW of float16 vectors, connectivity 16,
expansion_add 128; `similar --index` searches with expansion_search 256): build time, peak
RSS, latency of 1 query (median of 20) and of a batch of 100 after one warm-up pass (the
files are memory-mapped), and recall@10 of the ANN against exact search on those 100
queries, for each --ef. --reuse keeps an index built by an earlier run, with its build
figures.

Synthetic record vectors are clustered, as encoded records are: n/50 random unit centres, each
vector a centre plus Gaussian noise (cosine to its centre ~0.7), normalised. Queries are
vectors of the collection with fresh noise added, so they are near records but not records.

--formats compares the file formats instead: the same vectors as .npy and as Parquet (both
written by jsonvec's own writers), searched exactly by the whole command, `jsonvec similar
FILE --id ID -n 10` (best of 3 runs, the files in the page cache), and by the library (one
query, a batch of 100). It reports wall time, peak RSS and peak anonymous memory (RssAnon,
polled every 10 ms from /proc: memory-mapped file pages are not in it), and Parquet's time
as a multiple of .npy's.

--update times ``jsonvec index update`` of 10% appended vectors against a full build over all
of them (the nightly append: an index that follows its folder).

--dtypes stores the same vectors as float32, float16 and int8 (`encode --dtype`), in .npy and
Parquet, and measures exact search on each (one query, a batch of 100) with its recall@10
against float32 exact search.

With --write, each mode replaces only its own table in the file.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from jsonvec import default_codebook
from jsonvec.storage.layout import VECTORS_FORMAT
from jsonvec.storage.npy import NpySink
from jsonvec.storage.parquet.sink import ParquetSink
from jsonvec.version import ENCODING

K = 10


def make_collection(path: Path, n: int, dim: int, seed: int = 0, dtype: str = "float32") -> None:
    """Write ``n`` clustered unit vectors to ``path`` (.npy, or Parquet by its suffix), stored
    as ``dtype`` (the same vectors for every type, given the same seed)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(n // 50, 1), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    meta = {
        "format": VECTORS_FORMAT,
        "dim": dim,
        "dtype": dtype,
        "codebook": default_codebook().fingerprint if dim == 1024 else "synthetic",
        "id_type": "int",
        "encoding": ENCODING,
    }
    if path.suffix == ".parquet":
        sink: NpySink | ParquetSink = ParquetSink(str(path), dim, meta, "int")
    else:
        sink = NpySink(str(path), dim, meta)
    for start in range(0, n, 1024):  # 1024 rows at a time, as `jsonvec encode` writes them
        m = min(1024, n - start)
        which = rng.integers(0, len(centres), m)
        block = centres[which] + rng.standard_normal((m, dim), dtype=np.float32) / np.sqrt(dim)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        sink.write(list(range(start, start + m)), block)
    sink.commit()


def make_queries(path: Path, dim: int, count: int = 100, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.load(path.with_suffix(".npy"), mmap_mode="r")
    rows = np.sort(rng.choice(len(base), count, replace=False))
    queries = np.array(base[rows]) + rng.standard_normal(
        (count, dim), dtype=np.float32
    ) * 0.7 / np.sqrt(dim)
    return queries / np.linalg.norm(queries, axis=1, keepdims=True)


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(
    kind: str, vectors: Path, index: Path, queries_path: Path, ef: int = 64
) -> dict[str, Any]:
    """One measurement in this process: 'exact', 'build' or 'ann' (with expansion ``ef``)."""
    from jsonvec.search.ann import AnnIndex, build_index  # noqa: PLC0415
    from jsonvec.search.exact import CollectionSearch  # noqa: PLC0415
    from jsonvec.storage.collection import Collection  # noqa: PLC0415

    collection = Collection.open([str(vectors)])
    queries = np.load(queries_path)
    out: dict[str, Any] = {}
    if kind == "build":
        started = time.perf_counter()
        build_index(collection, index)
        out["build_s"] = time.perf_counter() - started
        out["index_mb"] = index.stat().st_size / 1e6
        meta = json.loads(index.with_name(index.name + ".meta.json").read_text())
        out["dtype"] = meta["dtype"] + (
            f" over {meta['projection']} dims" if meta.get("projection") else ""
        )
    else:
        started = time.perf_counter()
        ann = AnnIndex(collection, index, expansion_search=ef) if kind == "ann" else None
        searcher = CollectionSearch(collection, ann)
        out["open_s"] = time.perf_counter() - started
        searcher.search(queries, K)  # warm-up: page the memory-mapped files in
        singles = []
        for q in queries[:20]:
            t = time.perf_counter()
            searcher.search(q, K)
            singles.append(time.perf_counter() - t)
        out["one_ms"] = float(np.median(singles) * 1e3)
        t = time.perf_counter()
        rows, _ = searcher.search(queries, K)
        out["batch_s"] = time.perf_counter() - t
        out["rows"] = rows.tolist()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def run_worker(
    kind: str, vectors: Path, index: Path, queries: Path, ef: int = 64
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", kind, str(vectors), str(index), str(queries)]
    command.append(str(ef))
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout))


def measure(n: int, dim: int, workdir: Path, efs: list[int], reuse: bool) -> list[str]:
    vectors = workdir / f"synthetic_{n}_{dim}.npy"
    index = vectors.with_suffix(".usearch")
    queries = vectors.with_suffix(".queries.npy")
    if not vectors.exists():
        make_collection(vectors, n, dim)
    np.save(queries, make_queries(vectors, dim))
    exact = run_worker("exact", vectors, index, queries)
    stats = index.with_suffix(".build.json")
    if reuse and stats.exists() and index.exists():
        build = json.loads(stats.read_text())
    else:
        build = run_worker("build", vectors, index, queries)
        stats.write_text(json.dumps(build))
    rows = [
        f"| {n:,} | exact (numpy, chunked mmap) | 0 | {exact['peak_rss_mb']:,.0f} | "
        f"{exact['one_ms']:.1f} | {exact['batch_s']:.2f} | 1.000 |"
    ]
    for ef in efs:
        ann = run_worker("ann", vectors, index, queries, ef)
        recall = np.mean(
            [len(set(a) & set(e)) / K for a, e in zip(ann["rows"], exact["rows"], strict=True)]
        )
        rows.append(
            f"| {n:,} | usearch HNSW {build.get('dtype', 'float32')}, ef {ef} | "
            f"{build['build_s']:.0f} s "
            f"({build['index_mb']:,.0f} MB) | {max(build['peak_rss_mb'], ann['peak_rss_mb']):,.0f}"
            f" | {ann['one_ms']:.2f} | {ann['batch_s']:.3f} | {recall:.3f} |"
        )
    return rows


def anon_mb(pid: int) -> float:
    """RssAnon of a process, in MB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def time_command(command: list[str], runs: int = 3) -> dict[str, float]:
    """Best wall time of ``command`` over ``runs``, with its peak RSS and peak RssAnon."""
    best = {"seconds": float("inf"), "rss_mb": 0.0, "anon_mb": 0.0}
    for _ in range(runs):
        started = time.perf_counter()
        with subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            anon = 0.0
            while proc.poll() is None:
                children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
                anon = max([anon, *(anon_mb(int(c)) for c in children)])
                time.sleep(0.01)
            seconds = time.perf_counter() - started
            stderr = proc.stderr.read() if proc.stderr else ""
        if proc.returncode != 0:
            raise RuntimeError(f"{command} failed: {stderr}")
        if seconds < best["seconds"]:
            rss = int(stderr.strip().splitlines()[-1]) / 1024
            best = {"seconds": seconds, "rss_mb": rss, "anon_mb": anon}
    return best


def formats(n: int, dim: int, workdir: Path) -> list[str]:
    """The same vectors as .npy and as Parquet, searched exactly: rows of the table."""
    base = workdir / f"synthetic_{n}_{dim}.npy"
    queries = base.with_suffix(".queries.npy")
    rows = []
    timings: dict[str, dict[str, float]] = {}
    for suffix in (".npy", ".parquet"):
        vectors = base.with_suffix(suffix)
        if not vectors.exists():
            make_collection(vectors, n, dim)
        np.save(queries, make_queries(vectors, dim))
        jsonvec = [sys.executable, "-m", "jsonvec"]
        command = [*jsonvec, "similar", str(vectors), "--id", str(n // 2), "-n", str(K)]
        time_command(command, runs=1)  # warm-up: the file into the page cache
        cli = timings[suffix] = time_command(command)
        library = run_worker("exact", vectors, vectors.with_suffix(".usearch"), queries)
        size = vectors.stat().st_size / 1e9
        ratio = cli["seconds"] / timings[".npy"]["seconds"]
        rows.append(
            f"| {n:,} | {suffix} ({size:.2f} GB) | {cli['seconds']:.2f} | {ratio:.2f}x | "
            f"{cli['rss_mb']:,.0f} | {cli['anon_mb']:,.0f} | {library['one_ms']:.1f} | "
            f"{library['batch_s']:.2f} |"
        )
    return rows


def dtypes(n: int, dim: int, workdir: Path) -> list[str]:
    """The same vectors stored as float32, float16 and int8, .npy and Parquet, searched
    exactly by the library: rows of the table (recall@10 against float32 exact)."""
    base = workdir / f"synthetic_{n}_{dim}.npy"
    queries = base.with_suffix(".queries.npy")
    if not base.exists():
        make_collection(base, n, dim)
    np.save(queries, make_queries(base, dim))
    rows = []
    reference: dict[str, Any] = {}
    for suffix in (".npy", ".parquet"):
        for dtype in ("float32", "float16", "int8"):
            name = f"synthetic_{n}_{dim}" + ("" if dtype == "float32" else f"_{dtype}")
            vectors = workdir / (name + suffix)
            if not vectors.exists():
                make_collection(vectors, n, dim, dtype=dtype)
            found = run_worker("exact", vectors, vectors.with_suffix(".usearch"), queries)
            reference.setdefault(suffix, found)
            recall = np.mean([
                len(set(a) & set(e)) / K
                for a, e in zip(found["rows"], reference[".npy"]["rows"], strict=True)
            ])  # fmt: skip
            size = vectors.stat().st_size / 1e9
            ratio = reference[suffix].get("size", size) / size
            reference[suffix].setdefault("size", size)
            rows.append(
                f"| {n:,} | {suffix} | {dtype} | {size:.2f} | {ratio:.2f}x | "
                f"{found['one_ms']:.1f} | {found['batch_s']:.2f} | {recall:.4f} |"
            )
    return rows


def main_dtypes(args: argparse.Namespace) -> None:
    lines = [
        f"Command: `python bench/search.py {' '.join(sys.argv[1:])}`; dim {args.dim}, top-{K}, "
        f"{platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}; "
        "exact search by the library, files in the page cache.",
        "",
        "| vectors | file | dtype | GB | smaller | 1 query ms | 100 queries s "
        "| recall@10 vs float32 |",
        "|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    tabulate(lines, args.sizes, lambda n: dtypes(n, args.dim, args.workdir), args.write, "dtypes")


def tabulate(
    lines: list[str],
    sizes: list[int],
    rows_for: Callable[[int], list[str]],
    write: Path | None,
    name: str,
) -> None:
    """Print the head ``lines`` and the rows measured for each size as they come; with
    ``write``, put the whole table in that file's section ``name``."""
    print("\n".join(lines), flush=True)
    for n in sizes:
        rows = rows_for(n)
        print("\n".join(rows), flush=True)
        lines += rows
    if write:
        write_section(write, name, "\n".join(lines))


def write_section(path: Path, name: str, text: str) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``path``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    document = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in document and end in document:
        before, rest = document.split(start, 1)
        after = rest.split(end, 1)[1]
    else:
        before, after = document + "\n", "\n"
    path.write_text(f"{before}{start}\n{text}\n{end}{after}", encoding="utf-8")


def update_cost(n: int, dim: int, workdir: Path) -> str:
    """A row of the update table: a full build over n + n/10 vectors against a build over n
    then ``index update`` of the n/10 appended (both in this process, one after the other)."""
    from jsonvec.search.ann import build_index, update_index  # noqa: PLC0415
    from jsonvec.storage.collection import Collection  # noqa: PLC0415

    base, more = workdir / f"update_{n}_{dim}.parquet", workdir / f"update_{n}_{dim}.more.parquet"
    if not base.exists():
        make_collection(base, n, dim, seed=0)
    if not more.exists():
        make_collection(more, n // 10, dim, seed=1)
    both = Collection.open([str(base), str(more)])
    started = time.perf_counter()
    build_index(both, workdir / "update_full.usearch")
    full = time.perf_counter() - started
    build_index(Collection.open([str(base)]), workdir / "update_part.usearch")
    started = time.perf_counter()
    added = update_index(both, workdir / "update_part.usearch")
    update = time.perf_counter() - started
    return f"| {n:,} | {added:,} | {full:.1f} | {update:.1f} | {update / full:.1%} |"


def main_update(args: argparse.Namespace) -> None:
    lines = [
        f"Command: `python bench/search.py {' '.join(sys.argv[1:])}`; dim {args.dim}, "
        f"{platform.machine()}, Python {platform.python_version()}, index build defaults.",
        "",
        "| vectors | appended (10%) | full build s | update s | update / build |",
        "|---:|---:|---:|---:|---:|",
    ]
    tabulate(lines, args.sizes, lambda n: [update_cost(n, args.dim, args.workdir)], args.write,
             "update")  # fmt: skip


def main_formats(args: argparse.Namespace) -> None:
    lines = [
        f"Command: `python bench/search.py {' '.join(sys.argv[1:])}`; dim {args.dim}, top-{K}, "
        f"{platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}.",
        "",
        "| vectors | file | `similar --id` s | x .npy | peak RSS MB | peak RssAnon MB "
        "| library 1 query ms | library 100 queries s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    tabulate(lines, args.sizes, lambda n: formats(n, args.dim, args.workdir), args.write,
             "formats")  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, vectors, index, queries, ef = sys.argv[2:7]
        print(json.dumps(worker(kind, Path(vectors), Path(index), Path(queries), int(ef))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--workdir", type=Path, default=Path("build/bench"))
    parser.add_argument("--ef", type=int, nargs="+", default=[64, 256], help="expansion_search")
    parser.add_argument("--reuse", action="store_true", help="keep an index built before")
    parser.add_argument("--write", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--formats", action="store_true", help="compare .npy and Parquet")
    parser.add_argument("--update", action="store_true", help="index update against a build")
    parser.add_argument("--dtypes", action="store_true", help="float32, float16 and int8 files")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.formats:
        main_formats(args)
        return
    if args.update:
        main_update(args)
        return
    if args.dtypes:
        main_dtypes(args)
        return
    lines = [
        f"dim {args.dim}, top-{K}, {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}; peak RSS includes the memory-mapped vectors paged in.",
        "",
        "| vectors | method | build | peak RSS MB | 1 query ms | 100 queries s | recall@10 |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    for n in args.sizes:
        rows = measure(n, args.dim, args.workdir, args.ef, args.reuse)
        print("\n".join(rows), flush=True)
        lines += rows
    if args.write:
        command = "python bench/search.py " + " ".join(sys.argv[1:])
        write_section(args.write, "ann", f"Command: `{command.strip()}`\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
