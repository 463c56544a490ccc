"""JSON documents read as records: the elements of a top-level array, or each top-level value.

A ``.json`` file is usually one JSON document: an array of records (an export, a GeoJSON
feature list), or one pretty-printed object. :class:`DocumentSplitter` cuts such a document,
fed in pieces of any size, into the texts of its records, each with the line it starts on:

- a document whose first value is an array gives the array's elements, one record each (an
  empty array gives none); nothing but whitespace may follow the array;
- otherwise every top-level value is one record: one pretty-printed object is one record,
  and values one after another (JSON Lines, concatenated JSON) are one each.

Records are cut, not parsed: each text is parsed where a JSON Lines line would be (the
encoder's batches, workers included), so a record encodes to the same vector whichever file
it came from, and an invalid one is an invalid record (skipped with ``--skip-invalid``). A
document whose structure is broken (an unclosed array, a missing comma, a value cut short at
the end) cannot be cut and stops the run: :class:`~jsonvec.errors.InputError` naming the file
and line. Memory holds one piece and the record being cut, whatever the document's size.

The scan keeps track of strings (a bracket inside ``"..."`` is text), escapes and nesting
depth, jumping from one character that matters to the next with a regular expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from jsonvec.errors import InputError

BOM = b"\xef\xbb\xbf"

#: inside a record, outside strings: what opens or closes a value or a string
_STRUCTURE = re.compile(rb'[\[\]{}"]')
#: inside a string: its end, or an escape
_IN_STRING = re.compile(rb'["\\]')
#: the end of a bare scalar (number, true, false, null)
_SCALAR_END = re.compile(rb'[\s,\[\]{}"]')
_SPACE = re.compile(rb"[ \t\r\n]*")


def scan_record_python(
    buffer: bytes, pos: int, depth: int, in_string: bool
) -> tuple[int, int, bool]:
    """Scan a record's text from ``pos``, ``depth`` containers deep, in a string or not.

    Returns ``(pos, depth, in_string)``: with depth 0 and not in a string, the record ends
    just before ``pos``; otherwise the buffer was used up and the scan goes on from ``pos``
    with more text (an escape cut by the end of the buffer resumes at its backslash). The
    compiled scanner (``jsonvec/_scan.pyx``) does the same a byte at a time in C.

    >>> scan_record_python(b'{"a": "}"} tail', 1, 1, False)
    (10, 0, False)
    """
    end = len(buffer)
    while pos < end:
        if in_string:
            pos, in_string = _string_end(buffer, pos)
            if in_string or depth == 0:
                return pos, depth, in_string
            continue
        found = _STRUCTURE.search(buffer, pos)
        if found is None:
            return end, depth, False
        char, pos = found.group(), found.end()
        if char == b'"':
            in_string = True
        elif char in (b"{", b"["):
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos, 0, False
    return pos, depth, in_string


def _string_end(buffer: bytes, pos: int) -> tuple[int, bool]:
    """Past the end of the string ``pos`` is in, and False; or where to go on, and True."""
    while True:
        mark = _IN_STRING.search(buffer, pos)
        if mark is None:
            return len(buffer), True
        if mark.group() == b'"':
            return mark.end(), False
        if mark.end() == len(buffer):  # the escaped character is in the next piece
            return mark.start(), True
        pos = mark.end() + 1


scan_record: Callable[[bytes, int, int, bool], tuple[int, int, bool]]
try:
    from jsonvec._scan import scan_record
except ImportError:  # built without a C compiler
    scan_record = scan_record_python

# where the splitter is, between records
_START, _ARRAY_FIRST, _ARRAY_NEXT, _ARRAY_COMMA, _AFTER_ARRAY, _VALUES = range(6)


class DocumentSplitter:
    """Cuts a JSON document, fed in pieces, into ``(line, text)`` of its records.

    Parameters
    ----------
    source : str
        The document's name, for messages.

    Examples
    --------
    >>> splitter = DocumentSplitter("doc.json")
    >>> first = splitter.feed(b'[\\n  {"a": 1},\\n  {"a": ')
    >>> first + splitter.feed(b'"]"}\\n]\\n') + splitter.finish()
    [(2, b'{"a": 1}'), (3, b'{"a": "]"}')]
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self._buffer = b""
        self._pos = 0  # where the scan goes on in the buffer
        # a place in the buffer whose line and column are known, moved forward as needed
        self._mark, self._line, self._column = 0, 1, 1
        self._state = _START
        self._first = True  # nothing fed yet (a byte order mark may come first)
        # the record being cut: where it starts in the buffer (-1: between records)
        self._start = -1
        self._depth = 0
        self._in_string = False
        self._array = False  # inside the top-level array

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The records completed by ``data``, in order."""
        if self._first and data:
            if len(self._buffer) + len(data) < len(BOM) and BOM.startswith(self._buffer + data):
                self._buffer += data  # too short to tell whether it is a byte order mark
                return []
            data = self._buffer + data
            self._buffer = b""
            self._first = False
            if data.startswith(BOM):
                data = data[len(BOM) :]
        keep = self._start if self._start >= 0 else self._pos
        self._where(keep)
        self._buffer = self._buffer[keep:] + data
        self._pos -= keep
        self._mark -= keep
        self._start = min(self._start, 0)  # the record being cut now starts the buffer
        found: list[tuple[int, bytes]] = []
        while self._step(found):
            pass
        return found

    def finish(self) -> list[tuple[int, bytes]]:
        """The last record (a bare scalar ends only with the document); raises
        :class:`InputError` if the document is cut short."""
        found: list[tuple[int, bytes]] = []
        if self._start >= 0 and self._depth == 0 and not self._in_string:
            self._emit(len(self._buffer), found)  # a bare scalar at the very end
            self._after_record()
        if self._start >= 0:
            self._fail(self._start, "the document ends inside a record that starts here")
        if self._state in (_ARRAY_FIRST, _ARRAY_NEXT, _ARRAY_COMMA):
            self._fail(len(self._buffer), "the document ends before its array is closed by ]")
        return found

    # -- the scan

    def _step(self, found: list[tuple[int, bytes]]) -> bool:
        """Scan on from ``_pos``; False when the buffer is used up."""
        if self._start >= 0:
            return self._in_record(found)
        return self._between(found)

    def _between(self, found: list[tuple[int, bytes]]) -> bool:
        buffer = self._buffer
        pos = _SPACE.match(buffer, self._pos).end()  # type: ignore[union-attr]
        self._pos = pos
        if pos == len(buffer):
            return False
        char = buffer[pos : pos + 1]
        state = self._state
        if state == _START:
            if char == b"[":
                self._state, self._array, self._pos = _ARRAY_FIRST, True, pos + 1
                return True
            self._state = _VALUES
            return True
        if state in (_ARRAY_FIRST, _ARRAY_COMMA, _ARRAY_NEXT) and char == b"]":
            if state == _ARRAY_COMMA:
                self._fail(pos, "a comma before ] (an element is missing)")
            self._state, self._array, self._pos = _AFTER_ARRAY, False, pos + 1
            return True
        if state == _ARRAY_NEXT:
            if char != b",":
                self._fail(pos, "expected , or ] after an element")
            self._state, self._pos = _ARRAY_COMMA, pos + 1
            return True
        if state == _AFTER_ARRAY:
            self._fail(
                pos,
                "more follows the top-level array (JSON Lines? read it with --input-format jsonl)",
            )
        if char in (b",", b"]", b"}"):
            where = "between elements" if self._array else "between top-level values"
            self._fail(pos, f"unexpected {char.decode()} {where}")
        self._start, self._depth, self._in_string = pos, 0, False
        return True

    def _in_record(self, found: list[tuple[int, bytes]]) -> bool:
        buffer = self._buffer
        pos = self._pos
        if pos == self._start:  # the record's first byte tells its kind
            char = buffer[pos : pos + 1]
            if char in (b"{", b"["):
                self._depth, pos = 1, pos + 1
            elif char == b'"':
                self._in_string, pos = True, pos + 1
            else:  # a bare scalar: it ends where a scalar cannot go on
                end = _SCALAR_END.search(buffer, pos + 1)
                if end is None:
                    return False  # may go on in the next piece
                self._emit(end.start(), found)
                return True
        pos, self._depth, self._in_string = scan_record(buffer, pos, self._depth, self._in_string)
        self._pos = pos
        if self._depth or self._in_string:
            return False  # the buffer is used up
        self._emit(pos, found)
        return True

    def _where(self, pos: int) -> tuple[int, int]:
        """The line and column of the buffer's byte ``pos`` (never before the last asked)."""
        buffer, mark = self._buffer, self._mark
        lines = buffer.count(b"\n", mark, pos)
        if lines:
            self._line += lines
            self._column = pos - buffer.rfind(b"\n", mark, pos)
        else:
            self._column += pos - mark
        self._mark = pos
        return self._line, self._column

    def _emit(self, end: int, found: list[tuple[int, bytes]]) -> None:
        start = self._start
        line, _ = self._where(start)
        found.append((line, self._buffer[start:end]))
        self._pos = end
        self._start = -1
        self._after_record()

    def _after_record(self) -> None:
        if self._array:
            self._state = _ARRAY_NEXT

    def _fail(self, pos: int, reason: str) -> None:
        line, column = self._where(pos)
        raise InputError(f"{self.source}:{line}: not a JSON document: {reason} (column {column})")
