"""Inputs cut into byte ranges on line boundaries, and the lines of a range numbered as one
machine numbers them.

A file is cut into ranges of about a partition's size that start and end on a ``\\n``, as
Dask's ``read_bytes`` cuts them (a gzip file cannot be cut: one range). A range is a
description (file, offset, length), and each task reads its own range: the scheduler then
spreads tasks freely, where ranges read by separate tasks would keep each task on the worker
that read its bytes, or ship 64 MB between workers. A cheap first pass counts each range's
lines and records, so every range knows its first line number (for messages) and its first
positional id (the position among all inputs' non-blank lines), as ``jsonvec encode`` on one
machine gives them. A JSON document (a ``.json`` file, or any with ``--input-format json``)
is one range too, cut into its records as one machine cuts it (:mod:`jsonvec.records.documents`).
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from jsonvec.records.batches import Batch, cut_block, gather
from jsonvec.records.documents import DocumentSplitter
from jsonvec.records.reader import Line, display_name, input_format


@dataclass(frozen=True)
class Range:
    """One partition: a byte range of one input, cut on line boundaries when read."""

    index: int  # the partition's place among all
    source: str  # the input's name, for messages
    first_block: bool  # the input's first range (its line 1 may start with a BOM)
    path: str = ""  # the input: a path or URL
    offset: int = 0
    length: int | None = None  # None: the whole input
    gzip: bool = False
    document: bool = False  # one JSON document: its records are cut from the whole input

    def read(self) -> bytes:
        """The range's lines: from the first line that starts at or after ``offset`` to the
        end of the line that holds byte ``offset + length``."""
        fsspec: Any = importlib.import_module("fsspec")
        if self.length is None:
            with fsspec.open(self.path, "rb", compression="gzip" if self.gzip else None) as f:
                return bytes(f.read())
        with fsspec.open(self.path, "rb") as f:
            utils: Any = importlib.import_module("fsspec.utils")
            return bytes(utils.read_block(f, self.offset, self.length, b"\n"))


@dataclass(frozen=True)
class Start:
    """Where a range begins: its first line number in its input, its first positional id."""

    line: int
    position: int


def cut(
    paths: Sequence[str], partition_size: int, workers: int = 1, fmt: str | None = None
) -> list[Range]:
    """The ranges of all inputs, in order.

    Ranges are of at most ``partition_size`` bytes, and as many as fill whole rounds of
    ``workers`` (:func:`balanced_size`); a gzip file or a JSON document (``fmt``, else by
    name) is one range.
    """
    gzipped = [_is_gzip(path) for path in paths]
    documents = [input_format(path, fmt) == "json" for path in paths]
    whole = [a or b for a, b in zip(gzipped, documents, strict=True)]
    sizes = [_size(path) for path in paths]
    splittable = sum(n for n, one in zip(sizes, whole, strict=True) if not one)
    block = balanced_size(splittable, partition_size, workers)
    ranges: list[Range] = []
    for path, size, packed, document in zip(paths, sizes, gzipped, documents, strict=True):
        name = display_name(path)
        if packed or document:
            ranges.append(Range(len(ranges), name, True, path, gzip=packed, document=document))
            continue
        for position, (offset, length) in enumerate(_spans(size, block)):
            ranges.append(Range(len(ranges), name, position == 0, path, offset, length))
    return ranges


def _spans(size: int, block: int) -> list[tuple[int, int]]:
    """(offset, length) of the ranges of a file of ``size`` bytes: ``size // block`` of
    them, the spare bytes spread over them (as ``dask.bytes.read_bytes`` does)."""
    if size <= block:
        return [(0, size)]
    step = size / (size // block)
    offsets = [0]
    place = 0.0
    while size - place > step * 2 - 1:
        place += step
        offsets.append(int(place))
    ends = [*offsets[1:], size]
    return [(start, end - start) for start, end in zip(offsets, ends, strict=True)]


def balanced_size(total: int, partition_size: int, workers: int) -> int:
    """The block size to give Dask for ``total`` bytes: ranges of at most
    ``partition_size``, as many as make whole rounds of ``workers`` (502 MB in ranges of 64
    MiB make 8 on 2 workers, 4 full rounds, not 7 with the seventh alone in a fourth round).
    Dask makes ``size // blocksize`` ranges of a file, spreading the rest over them.

    >>> balanced_size(502_000_000, 64 << 20, 2)
    62750000
    >>> balanced_size(1000, 64 << 20, 4)
    250
    """
    if total <= 0:
        return partition_size
    parts = -(-total // partition_size)  # enough for none to be larger
    parts = -(-parts // max(workers, 1)) * max(workers, 1)  # whole rounds
    return max(1, total // parts)


def _size(path: str) -> int:
    if "://" in path:
        fs_path: Any = importlib.import_module("fsspec.core").url_to_fs(path)
        return int(fs_path[0].size(fs_path[1]))
    return os.path.getsize(path)


def _is_gzip(path: str) -> bool:
    if "://" in path:  # another file system: by name
        return path.endswith(".gz")
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def lines_of(block: bytes) -> list[bytes]:
    """The lines of a byte range, each with its ``\\n`` (the last one may lack it)."""
    lines = block.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


#: a line after the first that holds only whitespace and ends with a newline
_BLANK = re.compile(rb"\n[ \t\r]*(?=\n)")


def count(info: Range) -> tuple[int, int]:
    """(lines, non-blank lines) of a range: the first pass (for a JSON document, its lines
    and records)."""
    block = info.read()
    if info.document:
        return block.count(b"\n") + 1, len(_records(block, info))
    return count_lines(block, info)


def _records(block: bytes, info: Range) -> list[tuple[int, bytes]]:
    """``(line, text)`` of the records of a JSON document."""
    splitter = DocumentSplitter(info.source)
    return splitter.feed(block) + splitter.finish()


def count_lines(block: bytes, info: Range) -> tuple[int, int]:
    """(lines, non-blank lines) of a range's bytes, as :func:`lines_of` and
    ``Line.is_blank`` count them, at the speed of C (a tenth of a second per 64 MB)."""
    if not block:
        return 0, 0
    lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    end = block.find(b"\n")
    first = block if end < 0 else block[: end + 1]
    blank = int(Line(info.source, 1 if info.first_block else 2, first).is_blank)
    blank += len(_BLANK.findall(block))
    if lines > 1 and not block.endswith(b"\n"):  # a last line without its newline
        blank += int(Line(info.source, 2, block[block.rfind(b"\n") + 1 :]).is_blank)
    return lines, lines - blank


def starts(infos: Sequence[Range], counts: Sequence[tuple[int, int]], first: int) -> list[Start]:
    """Each range's first line number (in its input) and first positional id (in the run,
    counting from ``first``)."""
    found, line, position = [], 1, first
    for info, (lines, records) in zip(infos, counts, strict=True):
        if info.first_block:
            line = 1
        found.append(Start(line, position))
        line += lines
        position += records
    return found


def batches(block: bytes, info: Range, start: Start, size: int) -> Iterator[Batch]:
    """The range's records, ``size`` at a time (or ``BATCH_BYTES`` of them), numbered as
    one machine numbers them; ``batch.first - start.position`` is the index of a batch's
    first record among the range's."""
    if not info.document:
        yield from cut_block(block, info.source, start.line, start.position, size)
        return
    records = ((info.source, lineno, raw) for lineno, raw in _records(block, info))
    yield from gather(records, size, start.position)
