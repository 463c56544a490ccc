"""Batches of records: what ``jsonvec encode`` reads input into, and how JSON Lines bytes are
cut into them without a step per line in Python.

A :class:`Batch` is one block of bytes and, for each record in it, where its text starts and ends
and the line it is on. Bytes of JSON Lines are cut into batches by :func:`cut` (in C:
``jsonvec/records/_scan.pyx``, else :func:`cut_python`), a batch at a time: blank lines are found
and skipped, records numbered, line numbers counted, all in one pass over the bytes. A process that
hands batches to workers then touches each batch, never each line: it copies one block and a few
arrays (see :mod:`jsonvec.run.workers`). :class:`LineCutter` cuts input that arrives in pieces (a
file read a megabyte at a time, stdin, gzip); :class:`BatchBuilder` gathers records that come one at
a time (the records of a JSON document, lines given as objects).

Rules, as :class:`jsonvec.records.reader.Line` states them: a line is its bytes up to and with its
``\\n``, and the last line of an input may lack one; a line of whitespace (space, tab,
``\\r``, ``\\n``) holds no record, nor does a line 1 of a UTF-8 byte order mark and
whitespace; line 1's record is read without its byte order mark.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark
BATCH_BYTES = 1 << 20  # a batch ends at this many bytes of records, if not at its count
FEED_BYTES = 1 << 20  # bytes gathered before a cut (a batch's lines are scanned once or twice)
_SPACE = b" \t\r\n"
_EMPTY = np.zeros(0, dtype=np.int64)

#: (position after the batch, lines passed, whether a limit ended it, and for each record
#: its start, its end and its line's offset from the first line passed)
Cut = tuple[int, int, bool, "array[int]", "array[int]", "array[int]"]


def cut_python(
    buffer: bytes, pos: int, max_records: int, max_bytes: int, final: bool, line_one: bool
) -> Cut:
    """One batch of the lines of ``buffer`` from ``pos``: it ends after ``max_records``
    records, or after the record that brings its records' bytes to ``max_bytes``, or where
    the buffer's whole lines end (with ``final``, the buffer's end: its last line may lack a
    ``\\n``). ``line_one``: the line at ``pos`` is an input's line 1 (which may be a byte
    order mark alone). Blank lines are passed, not counted as records.

    >>> pos, lines, done, starts, ends, offsets = cut_python(b"1\\n \\n2\\n3", 0, 2, 99, 0, 1)
    >>> pos, lines, done, list(starts), list(ends), list(offsets)
    (6, 3, True, [0, 4], [2, 6], [0, 2])
    """
    n = len(buffer)
    starts, ends, offsets = array("q"), array("q"), array("q")
    lines = nbytes = 0
    complete = False
    while pos < n and not complete:
        found = buffer.find(b"\n", pos)
        if found < 0:
            if not final:
                break
            end = n
        else:
            end = found + 1
        body = buffer[pos:end].strip(_SPACE)
        if body and not (line_one and lines == 0 and body == BOM):
            starts.append(pos)
            ends.append(end)
            offsets.append(lines)
            nbytes += end - pos
            complete = len(starts) >= max_records or nbytes >= max_bytes
        lines += 1
        pos = end
    return pos, lines, complete, starts, ends, offsets


cut: Callable[[bytes, int, int, int, bool, bool], Cut]
try:
    from jsonvec.records._scan import cut
except ImportError:  # built without a C compiler
    cut = cut_python


@dataclass
class Batch:
    """Records of consecutive non-blank lines: one block of bytes, and for each record where
    its text starts and ends in it and the line it is on.

    ``first`` is the position of the first record (the positional id it gets); ``runs``
    lists ``(index of its first record, name)`` for each input the batch holds records of.
    A record's text keeps its line ending, so that a rejected line is copied byte for byte.
    """

    first: int = 0
    data: bytes = b""
    starts: NDArray[np.int64] = field(default_factory=lambda: _EMPTY)
    ends: NDArray[np.int64] = field(default_factory=lambda: _EMPTY)
    linenos: NDArray[np.int64] = field(default_factory=lambda: _EMPTY)
    runs: list[tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def nbytes(self) -> int:
        """Bytes of its records."""
        return int((self.ends - self.starts).sum())

    @property
    def raws(self) -> list[bytes]:
        """Each record's bytes, as read."""
        data = self.data
        return [data[s:e] for s, e in zip(self.starts.tolist(), self.ends.tolist(), strict=True)]

    def raw(self, index: int) -> bytes:
        """Record ``index``'s bytes, as read."""
        return self.data[self.starts[index] : self.ends[index]]

    def json(self) -> Iterator[bytes]:
        """Each record's bytes for a JSON parser: as read, but line 1 without its byte order
        mark (JSON allows the whitespace of line ends)."""
        data = self.data
        for start, end, lineno in zip(
            self.starts.tolist(), self.ends.tolist(), self.linenos.tolist(), strict=True
        ):
            skip = len(BOM) if lineno == 1 and data.startswith(BOM, start) else 0
            yield data[start + skip : end]

    def text(self, index: int) -> bytes:
        """Record ``index`` without its line ending (and line 1 without a byte order mark)."""
        raw = self.raw(index)
        body = raw.rstrip(b"\r\n") if raw.endswith(b"\n") else raw
        if self.linenos[index] == 1 and body.startswith(BOM):
            body = body[len(BOM) :]
        return body

    def source(self, index: int) -> str:
        """The input record ``index`` came from."""
        return self.runs[bisect.bisect_right(self.runs, (index, "\uffff")) - 1][1]

    def then(self, other: Batch) -> Batch:
        """This batch with the records of ``other`` (the next ones) after its own."""
        if not len(self):
            return other
        shift = len(self.data)
        runs = [*self.runs, *((index + len(self), name) for index, name in other.runs)]
        return Batch(
            self.first,
            self.data + other.data,
            np.concatenate([self.starts, other.starts + shift]),
            np.concatenate([self.ends, other.ends + shift]),
            np.concatenate([self.linenos, other.linenos]),
            [run for i, run in enumerate(runs) if i == 0 or run[1] != runs[i - 1][1]],
        )


def full(count: int, nbytes: int, size: int) -> bool:
    """Whether a batch of ``count`` records of ``nbytes`` bytes is done: ``size`` records, or
    ``BATCH_BYTES`` of them (long records come in smaller batches, so that workers still
    share them out)."""
    return count >= size or nbytes >= BATCH_BYTES


class BatchBuilder:
    """Gathers records given one at a time into a :class:`Batch`."""

    def __init__(self, first: int = 0) -> None:
        self.first = first
        self.raws: list[bytes] = []
        self.linenos: list[int] = []
        self.runs: list[tuple[int, str]] = []
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self.raws)

    def add(self, source: str, lineno: int, raw: bytes) -> None:
        """Append the record ``raw`` of line ``lineno`` of ``source``."""
        if not self.runs or self.runs[-1][1] != source:
            self.runs.append((len(self.raws), source))
        self.raws.append(raw)
        self.linenos.append(lineno)
        self.nbytes += len(raw)

    def full(self, size: int) -> bool:
        return full(len(self.raws), self.nbytes, size)

    def build(self) -> Batch:
        """The batch, and a new builder's start: its records have the next positions."""
        sizes = np.array([len(raw) for raw in self.raws], dtype=np.int64)
        ends = np.cumsum(sizes)
        batch = Batch(
            self.first,
            b"".join(self.raws),
            ends - sizes,
            ends,
            np.array(self.linenos, dtype=np.int64),
            self.runs,
        )
        self.first += len(self.raws)
        self.raws, self.linenos, self.runs, self.nbytes = [], [], [], 0
        return batch


def gather(records: Iterable[tuple[str, int, bytes]], size: int, first: int = 0) -> Iterator[Batch]:
    """``(source, line number, text)`` of records given one at a time, as batches of ``size``
    (or ``BATCH_BYTES`` of them), numbered from ``first``.

    >>> [b.raws for b in gather([("in", 1, b"1"), ("in", 2, b"2"), ("in", 3, b"3")], 2)]
    [[b'1', b'2'], [b'3']]
    """
    builder = BatchBuilder(first)
    for source, lineno, raw in records:
        builder.add(source, lineno, raw)
        if builder.full(size):
            yield builder.build()
    if len(builder):
        yield builder.build()


class LineCutter:
    """Cuts the bytes of one JSON Lines input, fed in pieces, into batches of ``size``
    records (or ``BATCH_BYTES`` of them); records are numbered from ``position``, lines from
    1. ``room`` is what is left of the first batch: ``(records, bytes)`` (the caller joins
    it to the end of a previous input's last batch).

    >>> cutter = LineCutter("in.jsonl", 2, position=10)
    >>> [(b.first, b.raws, b.linenos.tolist()) for b in cutter.feed(b'1\\n\\n2\\n3')]
    [(10, [b'1\\n', b'2\\n'], [1, 3])]
    >>> [(b.first, b.raws, b.linenos.tolist()) for b in cutter.finish()]
    [(12, [b'3'], [4])]
    >>> cutter.lines, cutter.blank, cutter.records
    (4, 1, 3)
    """

    def __init__(
        self, source: str, size: int, position: int = 0, room: tuple[int, int] | None = None
    ) -> None:
        self.source = source
        self.size = size
        self.position = position  # of the next record
        self.lines = 0  # lines cut so far
        self.blank = 0
        self.records = 0
        self.head = b""  # the first 64 bytes of the first record
        self._room = room
        self._pieces: list[bytes] = []  # bytes fed and not cut yet, in order
        self._waiting = 0  # bytes fed since the last cut
        self._newlines = 0  # line ends in the bytes not cut yet

    def pending_lines(self) -> int:
        """Lines fed that end with a ``\\n`` and are not cut yet (for messages)."""
        return self._newlines

    def feed(self, data: bytes) -> list[Batch]:
        """The batches that ``data`` completes. Pieces of any size are gathered until a batch
        may be complete: enough lines have ended, or ``FEED_BYTES`` with at least one; so
        each line is scanned at most twice, and a batch goes out as soon as it is whole (a
        slow pipe's records are not held back)."""
        if not data:
            return []
        self._pieces.append(data)
        self._waiting += len(data)
        self._newlines += data.count(b"\n")
        records = self._room[0] if self._room else self.size
        if self._newlines < records and (self._waiting < FEED_BYTES or not self._newlines):
            return []  # no batch can be complete yet (a long line is not joined until it ends)
        return self._cut(final=False)

    def finish(self) -> list[Batch]:
        """The last batches, once the input has ended."""
        return self._cut(final=True)

    def _cut(self, final: bool) -> list[Batch]:
        buffer = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
        self._pieces, self._waiting = [], 0
        batches: list[Batch] = []
        pos = 0
        while True:
            records, nbytes = self._room or (self.size, BATCH_BYTES)
            end, lines, complete, starts, ends, offsets = cut(
                buffer, pos, records, nbytes, final, self.lines == 0
            )
            if not complete and not final:
                break  # the rest waits for more bytes (or the end)
            if len(starts):
                batches.append(self._batch(buffer, pos, end, starts, ends, offsets))
            self.lines += lines
            self.blank += lines - len(starts)
            pos = end
            if pos >= len(buffer):
                break
        if pos < len(buffer):
            self._pieces.append(buffer[pos:] if pos else buffer)
        self._newlines = buffer.count(b"\n", pos)
        return batches

    def _batch(
        self, buffer: bytes, pos: int, end: int, starts: array[int], ends: array[int],
        offsets: array[int],
    ) -> Batch:  # fmt: skip
        begin = np.frombuffer(starts, dtype=np.int64) - pos
        batch = Batch(
            self.position,
            buffer[pos:end],
            begin,
            np.frombuffer(ends, dtype=np.int64) - pos,
            np.frombuffer(offsets, dtype=np.int64) + (self.lines + 1),
            [(0, self.source)],
        )
        if not self.records:
            self.head = batch.raw(0)[:64]
        self.position += len(batch)
        self.records += len(batch)
        self._room = None
        return batch


def cut_block(
    block: bytes, source: str, first_line: int, position: int, size: int
) -> Iterator[Batch]:
    """The batches of a whole block of JSON Lines, whose first line is ``first_line`` of
    ``source`` and first record has ``position`` (a byte range of an input read at once)."""
    cutter = LineCutter(source, size, position)
    cutter.lines = first_line - 1
    yield from cutter.feed(block)
    yield from cutter.finish()
