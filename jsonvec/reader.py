"""Reading records: files, gzip files and stdin, one numbered record text at a time.

Two input formats, chosen by name (``--input-format`` overrides): JSON Lines, one record per
line; and, for names ending in ``.json`` (or ``.json.gz``), one JSON document whose records are
the elements of a top-level array, or each top-level value (:mod:`jsonvec.documents`). A
record of a document comes with the line it starts on, and is read exactly as a line is.

JSON Lines conventions (jsonlines.org): UTF-8, one JSON value per line, ``\\r\\n``
tolerated, last newline optional. Gzip input is recognised by its magic bytes, whatever the
name. Chosen behaviours: a UTF-8 byte order mark at the start of an input is ignored; lines
holding only whitespace are not records and are skipped (and counted); duplicate keys in an
object keep the last value. Inputs given as patterns are expanded by :func:`expand_inputs`,
the same way for every command.
"""

from __future__ import annotations

import bisect
import glob
import gzip
import io
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from jsonvec.documents import DocumentSplitter
from jsonvec.errors import InputError, InvalidLineError

STDIN = "-"
#: the input formats: JSON Lines, or one JSON document (its array's elements or values)
INPUT_FORMATS = ("jsonl", "json")
#: what a folder given as an input contributes: its files of records, by suffix
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json")
_CHUNK = 1 << 20  # bytes of a JSON document read at a time
_GLOB = re.compile(r"[*?[]")
STDIN_NAME = "<stdin>"
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark
BATCH_BYTES = 1 << 20  # a batch ends at this many bytes of lines, if not at its line count
_GZIP_MAGIC = b"\x1f\x8b"
_WHITESPACE = b" \t\r\n"
_WHITESPACE_BYTES = frozenset(_WHITESPACE)


@dataclass(frozen=True)
class Line:
    """One line of input: where it came from and its bytes exactly as read.

    ``raw`` keeps the line ending, so a rejected line can be copied byte for byte.
    """

    source: str
    lineno: int
    raw: bytes

    @property
    def text(self) -> bytes:
        """The line without its line ending (and without a leading BOM on line 1)."""
        body = self.raw.rstrip(b"\r\n") if self.raw.endswith(b"\n") else self.raw
        if self.lineno == 1 and body.startswith(BOM):
            body = body[len(BOM) :]
        return body

    @property
    def is_blank(self) -> bool:
        """True for a line of whitespace only, which holds no record."""
        body = self.raw.strip(_WHITESPACE)
        return not body or (self.lineno == 1 and body == BOM)


@dataclass
class Batch:
    """Consecutive non-blank lines, column by column (cheap to build and to ship).

    ``runs`` lists ``(index of its first line, name)`` for each input the batch holds lines
    of; ``bom`` is the index of a first line that starts with a UTF-8 byte order mark (its
    JSON is read without it), or -1.
    """

    first: int = 0
    raws: list[bytes] = field(default_factory=list)
    linenos: list[int] = field(default_factory=list)
    runs: list[tuple[int, str]] = field(default_factory=list)
    bom: int = -1
    nbytes: int = 0  # of its lines

    def full(self, size: int) -> bool:
        """Whether the batch is done: ``size`` lines, or ``BATCH_BYTES`` of them (long
        records come in smaller batches, so that workers still share them out)."""
        return len(self.raws) >= size or self.nbytes >= BATCH_BYTES

    def __len__(self) -> int:
        return len(self.raws)

    def add(self, position: int, line: Line) -> None:
        """Append one line, whose record has the next position."""
        if not self.raws:
            self.first = position
        elif position != self.first + len(self.raws):
            raise ValueError("the positions of a batch are consecutive")
        self.start(line.source)
        if line.lineno == 1 and line.raw.startswith(BOM):
            self.bom = len(self.raws)
        self.raws.append(line.raw)
        self.linenos.append(line.lineno)
        self.nbytes += len(line.raw)

    def start(self, source: str) -> None:
        """Lines from here on come from ``source``."""
        if not self.runs or self.runs[-1][1] != source:
            self.runs.append((len(self.raws), source))

    def source(self, index: int) -> str:
        """The input line ``index`` came from."""
        return self.runs[bisect.bisect_right(self.runs, (index, "\uffff")) - 1][1]

    def text(self, index: int) -> bytes:
        """Line ``index`` without its line ending (and without a byte order mark)."""
        raw = self.raws[index]
        body = raw.rstrip(b"\r\n") if raw.endswith(b"\n") else raw
        return body[len(BOM) :] if index == self.bom else body

    def line(self, index: int) -> Line:
        """Line ``index`` as a :class:`Line`."""
        return Line(self.source(index), self.linenos[index], self.raws[index])

    def lines(self) -> Iterator[tuple[int, Line]]:
        """``(position, line)`` pairs."""
        for index in range(len(self.raws)):
            yield self.first + index, self.line(index)


def display_name(path: str) -> str:
    """How an input is named in messages."""
    return STDIN_NAME if path == STDIN else path


class _Counting(io.RawIOBase):
    """A readable stream that counts the bytes read through it (the compressed bytes of a
    gzip input, for a progress bar whose total is the files' sizes)."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def _open(path: str) -> tuple[BinaryIO, BinaryIO, _Counting | None]:
    """The decoded stream of ``path``, the raw file under it, and for gzip a byte counter."""
    if path == STDIN:
        raw: BinaryIO = sys.stdin.buffer
    else:
        try:
            raw = open(path, "rb")  # noqa: SIM115 - closed by read_lines
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    peekable = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(cast(Any, raw))
    if peekable.peek(2)[:2] == _GZIP_MAGIC:
        counting = _Counting(cast(BinaryIO, peekable))
        return cast(BinaryIO, gzip.GzipFile(fileobj=counting, mode="rb")), raw, counting
    return cast(BinaryIO, peekable), raw, None


def input_format(path: str, chosen: str | None = None) -> str:
    """How ``path`` is read: ``chosen`` if given, else ``json`` for names ending in ``.json``
    or ``.json.gz``, and ``jsonl`` for any other name (stdin included)."""
    if chosen is not None:
        if chosen not in INPUT_FORMATS:
            raise InputError(f"unknown input format {chosen!r}: jsonl or json")
        return chosen
    name = path.lower()
    return "json" if name.endswith((".json", ".json.gz")) else "jsonl"


def _units(handle: BinaryIO, path: str, fmt: str) -> Iterator[bytes | tuple[int, bytes]]:
    """The lines of a JSON Lines input, or ``(line, text)`` of a document's records."""
    if fmt == "jsonl":
        yield from handle
        return
    splitter = DocumentSplitter(display_name(path))
    while chunk := handle.read(_CHUNK):
        yield from splitter.feed(chunk)
    yield from splitter.finish()


def _numbered(
    path: str, progress: Callable[[int], None] | None, fmt: str | None = None
) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw text)`` of each line, or of each record of a document (the line
    it starts on); errors of reading are :class:`InputError`."""
    name = display_name(path)
    handle, raw_file, counting = _open(path)
    lineno = reported = 0
    try:
        for unit in _units(handle, path, input_format(path, fmt)):
            if isinstance(unit, tuple):
                lineno, raw = unit
            else:
                lineno, raw = lineno + 1, unit
            if progress is not None:
                if counting is None:
                    progress(len(raw))
                elif counting.count != reported:
                    progress(counting.count - reported)
                    reported = counting.count
            yield lineno, raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(
            f"{name}:{lineno + 1}: gzip data is truncated or corrupted ({exc})"
        ) from exc
    except OSError as exc:
        raise InputError(f"{name}:{lineno + 1}: cannot read: {exc.strerror}") from exc
    finally:
        if path != STDIN:
            handle.close()
            raw_file.close()
    if progress is not None and counting is not None and counting.count != reported:
        progress(counting.count - reported)


def read_lines(
    paths: Iterable[str],
    progress: Callable[[int], None] | None = None,
    fmt: str | None = None,
) -> Iterator[Line]:
    """Every line of every input, in order, numbered from 1 within each input; for a JSON
    document (see :func:`input_format`; ``fmt`` overrides the choice by name), each record's
    text with the line it starts on.

    ``progress`` is called with the number of input bytes consumed as reading goes on:
    compressed bytes for gzip, so that the sum over an input is its size on disk.
    Raises :class:`InputError` when an input cannot be opened, its gzip data is damaged, or
    a document's structure is broken.
    """
    for path in paths:
        name = display_name(path)
        for lineno, raw in _numbered(path, progress, fmt):
            yield Line(name, lineno, raw)


def read_batches(
    paths: Iterable[str],
    size: int,
    on_blank: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
    start: int = 0,
    fmt: str | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Iterator[Batch]:
    """The non-blank lines (or a document's records) of every input, in order, ``size`` at
    a time or ``BATCH_BYTES`` of them (see :class:`Batch`).

    The lines of :func:`read_lines` without an object per line: the reading of ``jsonvec
    encode``. The first record's position is ``start``. ``on_blank`` is called with the
    number of blank lines of each input, ``on_note`` with a hint where an input is likely
    not read as meant (a JSON Lines input whose one record is an array).
    """
    batch = Batch(first=start)
    for path in paths:
        name = display_name(path)
        batch.start(name)
        blank = records = 0
        first = b""
        for lineno, raw in _numbered(path, progress, fmt):
            if (raw[0] in _WHITESPACE_BYTES or lineno == 1) and _blank(batch, name, lineno, raw):
                blank += 1
                continue
            records += 1
            if records == 1:
                first = raw[:64]
            batch.raws.append(raw)
            batch.linenos.append(lineno)
            batch.nbytes += len(raw)
            if batch.full(size):
                yield batch
                batch = Batch(first=batch.first + len(batch.raws))
                batch.start(name)
        if on_blank is not None:
            on_blank(blank)
        if on_note is not None and records == 1 and input_format(path, fmt) == "jsonl":
            _note_one_array(name, first, on_note)
    if len(batch):
        yield batch


def _blank(batch: Batch, name: str, lineno: int, raw: bytes) -> bool:
    """Whether a line that may be blank (or start with a byte order mark) is; marks the
    batch's line that starts with one."""
    if Line(name, lineno, raw).is_blank:
        return True
    if lineno == 1 and raw.startswith(BOM):
        batch.bom = len(batch.raws)
    return False


def _note_one_array(name: str, first: bytes, on_note: Callable[[str], None]) -> None:
    """A JSON Lines input whose one record is an array is likely a document: say so."""
    if first.lstrip(BOM + _WHITESPACE).startswith(b"["):
        on_note(
            f"{name} holds one line, an array: it is one record; --input-format json reads "
            "its elements as records"
        )


def parse_line(line: Line) -> Any:
    """The JSON value on ``line``; :class:`InvalidLineError` if it is not valid JSON."""
    # JSON allows the whitespace of line ends, so only line 1 (which may hold a BOM) is cut
    try:
        return orjson.loads(line.text if line.lineno == 1 else line.raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidLineError(
            line.source, line.lineno, invalid_reason(line.text), line.raw
        ) from exc


#: orjson's messages that read better in other words ({column}: where)
_REWORDED = {
    "unexpected end of data": "the value is cut short at column {column} (a truncated line?)",
    "number is infinity when parsed as double": "a number beyond the range of a 64-bit float "
    "(column {column})",
    "no low surrogate in string": "a lone surrogate escape (\\ud800-\\udbff without its "
    "pair) in a string (column {column})",
}


def invalid_reason(text: bytes) -> str:
    """Why ``text`` (a line without its line ending) is not JSON, with the column where."""
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8: byte 0x{text[exc.start]:02x} at column {exc.start + 1}"
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        # a document's record may span lines: the column is then on one of them
        column = f"{exc.colno}" if exc.lineno == 1 else f"{exc.colno} of its line {exc.lineno}"
        template = _REWORDED.get(exc.msg)
        reason = (
            f"invalid JSON: {exc.msg} (column {column})"
            if template is None
            else "invalid JSON: " + template.format(column=column)
        )
        if text.strip() in (b"{", b"["):
            reason += "; a pretty-printed JSON document? read it with --input-format json"
        return reason
    return "invalid JSON"  # pragma: no cover - only called for text that failed to parse


def expand_inputs(patterns: Sequence[str]) -> list[str]:
    """The inputs named by ``patterns``, the same way for every command: ``-`` (stdin), a
    file, a URL (read by its own file system), a folder (its files of records, by suffix:
    :data:`RECORD_SUFFIXES`, gzipped or not, in name order), or a glob pattern quoted past
    the shell (its matches in name order). A pattern that names nothing is an
    :class:`InputError`; so is a folder that holds no records file.

    >>> expand_inputs(["-"])
    ['-']
    """
    found: list[str] = []
    for pattern in patterns:
        if pattern == STDIN or "://" in pattern or _is_file(pattern):
            found.append(pattern)
        elif Path(pattern).is_dir():
            files = sorted(
                str(p)
                for p in Path(pattern).iterdir()
                if p.is_file() and not p.name.startswith(".") and _holds_records(p.name)
            )
            if not files:
                kinds = ", ".join(RECORD_SUFFIXES)
                raise InputError(f"{pattern}: the folder holds no {kinds} files (or .gz)")
            found.extend(files)
        elif _GLOB.search(pattern):
            matches = sorted(p for p in glob.glob(pattern) if Path(p).is_file())
            if not matches:
                raise InputError(f"{pattern}: no file matches")
            found.extend(matches)
        else:
            found.append(pattern)  # opened later: "cannot read: No such file or directory"
    return found


def _is_file(pattern: str) -> bool:
    try:
        return Path(pattern).is_file()
    except OSError:  # a name too long, say: it names no file
        return False


def _holds_records(name: str) -> bool:
    name = name.lower().removesuffix(".gz")
    return name.endswith(RECORD_SUFFIXES)


def check_files(paths: Sequence[str]) -> None:
    """Inputs on this machine must be files (URLs are read by their own file systems);
    checked before a run starts anything."""
    for path in paths:
        if "://" not in path and not Path(path).is_file():
            reason = "is a folder" if Path(path).is_dir() else "No such file or directory"
            raise InputError(f"{path}: cannot read: {reason}")
