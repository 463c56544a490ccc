"""Reading records: files, gzip files and stdin, one numbered record text at a time.

Two input formats, chosen by name (``--input-format`` overrides): JSON Lines, one record per
line; and, for names ending in ``.json`` (or ``.json.gz``), one JSON document whose records are
the elements of a top-level array, or each top-level value (:mod:`jsonvec.records.documents`). A
record of a document comes with the line it starts on, and is read exactly as a line is.

JSON Lines conventions (jsonlines.org): UTF-8, one JSON value per line, ``\\r\\n``
tolerated, last newline optional. Gzip input is recognised by its magic bytes, whatever the
name. Chosen behaviours: a UTF-8 byte order mark at the start of an input is ignored; lines
holding only whitespace are not records and are skipped (and counted); duplicate keys in an
object keep the last value. Inputs given as patterns are expanded by :func:`expand_inputs`,
the same way for every command.
"""

from __future__ import annotations

import glob
import gzip
import io
import re
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import orjson

from jsonvec.errors import InputError, InvalidLineError
from jsonvec.records.batches import BATCH_BYTES, BOM, Batch, LineCutter, full, gather
from jsonvec.records.documents import DocumentSplitter

STDIN = "-"
#: the input formats: JSON Lines, or one JSON document (its array's elements or values)
INPUT_FORMATS = ("jsonl", "json")
#: what a folder given as an input contributes: its files of records, by suffix
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json")
_GLOB = re.compile(r"[*?[]")
STDIN_NAME = "<stdin>"
_READ = 1 << 20  # bytes of input read at a time (at most)
_GZIP_MAGIC = b"\x1f\x8b"
_WHITESPACE = b" \t\r\n"


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


def _pieces(
    path: str, progress: Callable[[int], None] | None, line: Callable[[], int]
) -> Iterator[bytes]:
    """The decoded bytes of ``path``, a piece at a time (at most ``_READ``: what one read
    gives, so a slow pipe's bytes come as they arrive). ``progress`` is told of the input
    bytes consumed (compressed bytes for gzip, so that the sum over an input is its size on
    disk). Errors of reading are :class:`InputError` naming ``line()``, the line being read."""
    name = display_name(path)
    handle, raw_file, counting = _open(path)
    read = cast(io.BufferedIOBase, handle).read1
    reported = 0
    try:
        while piece := read(_READ):
            if progress is not None:
                step = len(piece) if counting is None else counting.count - reported
                if step:
                    progress(step)
                    reported += step
            yield piece
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"{name}:{line()}: gzip data is truncated or corrupted ({exc})") from exc
    except OSError as exc:
        raise InputError(f"{name}:{line()}: cannot read: {exc.strerror}") from exc
    finally:
        if path != STDIN:
            handle.close()
            raw_file.close()
    if progress is not None and counting is not None and counting.count != reported:
        progress(counting.count - reported)


def _numbered(
    path: str, progress: Callable[[int], None] | None, fmt: str | None = None
) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw text)`` of each line, or of each record of a document (the line
    it starts on); errors of reading are :class:`InputError`."""
    lineno = 0
    pieces = _pieces(path, progress, lambda: lineno + 1)
    if input_format(path, fmt) == "json":
        splitter = DocumentSplitter(display_name(path))
        for piece in pieces:
            for lineno, raw in splitter.feed(piece):  # lineno: read by the messages
                yield lineno, raw
        yield from splitter.finish()
        return
    waiting: list[bytes] = []  # the start of a line not ended yet, in pieces
    for piece in pieces:
        waiting.append(piece)
        if b"\n" not in piece:
            continue
        lines = b"".join(waiting).split(b"\n")
        last = lines.pop()
        waiting = [last] if last else []
        for raw in lines:
            lineno += 1
            yield lineno, raw + b"\n"
    if waiting:
        yield lineno + 1, b"".join(waiting)


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
    """The records (non-blank lines, or a document's records) of every input, in order, in
    batches of ``size`` or of ``BATCH_BYTES`` (see :mod:`jsonvec.records.batches`); an input's
    last batch, if not full, is completed by the next input's records.

    The reading of ``jsonvec encode``: JSON Lines are read a megabyte at a time and cut in
    C, with no step per line in Python. The first record's position is ``start``.
    ``on_blank`` is called with the number of blank lines of each input, ``on_note`` with a
    hint where an input is likely not read as meant (a JSON Lines input whose one record is
    an array).
    """
    carry = Batch(first=start)  # the last records read, not yet a full batch
    for path in paths:
        name = display_name(path)
        position = carry.first + len(carry)
        if input_format(path, fmt) == "json":
            if len(carry):
                yield carry
                carry = Batch(first=position)
            carry = yield from _joined(
                carry, _document_batches(path, size, position, progress), size
            )
            continue
        room = (size - len(carry), BATCH_BYTES - carry.nbytes) if len(carry) else None
        cutter = LineCutter(name, size, position, room)
        carry = yield from _joined(carry, _line_batches(path, cutter, progress), size)
        if on_blank is not None:
            on_blank(cutter.blank)
        if on_note is not None and cutter.records == 1:
            _note_one_array(name, cutter.head, on_note)
    if len(carry):
        yield carry


def _joined(carry: Batch, batches: Iterator[Batch], size: int) -> Generator[Batch, None, Batch]:
    """``batches`` of one input, the first joined to the end of ``carry`` (the previous
    input's last records); returns the input's last batch if it is not full, to be joined
    in turn, else an empty batch."""
    held = None
    for batch in batches:
        if held is not None:
            yield held
        held = carry.then(batch) if len(carry) else batch
        carry = Batch(first=batch.first + len(batch))
    if held is None:
        return carry
    if full(len(held), held.nbytes, size):
        yield held
        return Batch(first=held.first + len(held))
    return held


def _line_batches(
    path: str, cutter: LineCutter, progress: Callable[[int], None] | None
) -> Iterator[Batch]:
    """The batches of a JSON Lines input, cut by ``cutter`` as its bytes are read."""
    for piece in _pieces(path, progress, lambda: cutter.lines + cutter.pending_lines() + 1):
        yield from cutter.feed(piece)
    yield from cutter.finish()


def _document_batches(
    path: str, size: int, position: int, progress: Callable[[int], None] | None
) -> Iterator[Batch]:
    """The batches of a JSON document's records."""
    name = display_name(path)
    numbered = _numbered(path, progress, "json")
    yield from gather(((name, lineno, raw) for lineno, raw in numbered), size, position)


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
