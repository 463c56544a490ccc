"""Reading JSON documents (.json files holding one array of records): how fast they are cut.

Usage:  python bench/documents.py [--data DIR] [--mb 30] [--encode] [--write FILE]

Every corpus of ../shared/data becomes one array of its records, repeated to --mb MB,
pretty-printed (two-space indents) and compact (one line). Measured, each in MB of document
per second (best of three):

- compiled: ``jsonvec.records.documents.DocumentSplitter`` with the compiled cut
  (``jsonvec.records._scan``), fed 1 MB pieces: the text of every record, with its line;
- python: the same splitter with the cut in Python (an install without a compiler);
- ijson: ``ijson.items(file, "item", use_float=True)`` with its C backend (yajl2_c): the
  streaming parser an array would otherwise be read with; it yields parsed values, which
  would still have to be written back to text to keep jsonvec's byte-for-byte path (rejects,
  stored records, the line of an error, one parser for both formats);
- orjson: ``orjson.loads`` of each record's text: the parse that follows the cut, for scale.

With --encode, also ``jsonvec encode FILE -o X.npy --jobs 1`` end to end (best of two, in a
process of its own) on the pretty-printed document and on the same records as JSON Lines:
what reading a document costs a run.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from jsonvec.records import documents
from jsonvec.records.documents import DocumentSplitter

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
PIECE = 1 << 20


def cut(data: bytes, scan: Callable[..., Any]) -> int:
    documents.advance = scan
    splitter = DocumentSplitter("bench.json")
    count = 0
    for start in range(0, len(data), PIECE):
        count += len(splitter.feed(data[start : start + PIECE]))
    return count + len(splitter.finish())


def best(run: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--mb", type=float, default=30.0)
    parser.add_argument("--encode", action="store_true", help="time jsonvec encode too")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    try:
        import ijson  # noqa: PLC0415 - the bench extra
    except ImportError:
        ijson = None
    compiled, python = documents.advance, documents.advance_python
    rows = []
    for path in sorted(args.data.glob("*.jsonl")):
        records = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        size = len(orjson.dumps(records))
        records = records * max(1, round(args.mb * 1e6 / size))
        texts = [orjson.dumps(r) for r in records]
        for layout, option in (("pretty", orjson.OPT_INDENT_2), ("compact", 0)):
            data = orjson.dumps(records, option=option)
            mb = len(data) / 1e6
            assert cut(data, compiled) == len(records)
            speeds = _speeds(data, texts, compiled, python, ijson)
            if args.encode and layout == "pretty":
                speeds.update(_encode(data, texts))
            rows.append((path.stem, layout, mb, len(records), speeds))
            print(path.stem, layout, {k: round(v) for k, v in speeds.items()}, flush=True)
    table = _table(rows, ijson is not None)
    print(table)
    if args.write:
        args.write.write_text(table)


def _speeds(
    data: bytes, texts: list[bytes], compiled: Callable[..., Any],
    python: Callable[..., Any], ijson: Any,
) -> dict[str, float]:  # fmt: skip
    """MB of document per second, by each way of reading it."""
    mb = len(data) / 1e6
    speeds = {
        "compiled": mb / best(lambda: cut(data, compiled)),
        "python": mb / best(lambda: cut(data, python), 1),
        "orjson": mb / best(lambda: [orjson.loads(t) for t in texts]),
    }
    if ijson is not None:
        items = ijson.items
        speeds["ijson"] = mb / best(
            lambda: sum(1 for _ in items(io.BytesIO(data), "item", use_float=True))
        )
    documents.advance = compiled
    return speeds


def _run_seconds(path: Path, out: Path) -> float:
    command = [sys.executable, "-m", "jsonvec", "encode", str(path), "-o", str(out)]
    times = []
    for _ in range(2):
        started = time.perf_counter()
        subprocess.run([*command, "--jobs", "1", "-q"], check=True)
        times.append(time.perf_counter() - started)
    return min(times)


def _encode(data: bytes, texts: list[bytes]) -> dict[str, float]:
    """Seconds of ``jsonvec encode`` on the document and on the same records as lines."""
    with tempfile.TemporaryDirectory() as folder:
        document, lines = Path(folder) / "d.json", Path(folder) / "d.jsonl"
        document.write_bytes(data)
        lines.write_bytes(b"".join(t + b"\n" for t in texts))
        return {
            "encode .jsonl s": _run_seconds(lines, Path(folder) / "a.npy"),
            "encode .json s": _run_seconds(document, Path(folder) / "b.npy"),
        }


def _table(rows: list[tuple[str, str, float, int, dict[str, float]]], with_ijson: bool) -> str:
    names = ["compiled", "python", *(["ijson"] if with_ijson else []), "orjson"]
    timed = any("encode .json s" in speeds for *_, speeds in rows)
    head = "| corpus | layout | MB | records | " + " | ".join(f"{n} MB/s" for n in names)
    head += " | encode .jsonl s | encode .json s | ratio |" if timed else " |"
    lines = [head, "|---|---|---:|---:|" + "---:|" * (len(names) + 3 * timed)]
    for corpus, layout, mb, count, speeds in rows:
        cells = " | ".join(f"{speeds[n]:,.0f}" for n in names)
        if timed:
            jsonl, json = speeds.get("encode .jsonl s"), speeds.get("encode .json s")
            cells += (
                f" | {jsonl:.2f} | {json:.2f} | {json / jsonl:.2f}" if jsonl and json else " | | |"
            )
        lines.append(f"| {corpus} | {layout} | {mb:.1f} | {count:,} | {cells} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
