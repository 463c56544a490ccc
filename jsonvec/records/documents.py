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

The cut keeps track of strings (a bracket inside ``"..."`` is text), escapes, nesting depth
and lines, a byte at a time in C (``jsonvec/records/_scan.pyx``), or with the same rules in Python
(:func:`advance_python`, jumping from one character that matters to the next) where the
package was installed without a compiler.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NoReturn

from jsonvec.errors import InputError

BOM = b"\xef\xbb\xbf"

# where the scan is between records (jsonvec/records/_scan.pyx holds the same numbers)
START, ARRAY_FIRST, ARRAY_NEXT, ARRAY_COMMA, AFTER_ARRAY, VALUES = range(6)
_IN_ARRAY = (ARRAY_FIRST, ARRAY_NEXT, ARRAY_COMMA)
# what is wrong with a document (0: nothing)
COMMA_BEFORE_CLOSE, EXPECTED_COMMA, MORE_AFTER_ARRAY, UNEXPECTED = range(1, 5)
_REASONS = {
    COMMA_BEFORE_CLOSE: "a comma before ] (an element is missing)",
    EXPECTED_COMMA: "expected , or ] after an element",
    MORE_AFTER_ARRAY: "more follows the top-level array (JSON Lines? read it with "
    "--input-format jsonl)",
}

#: (pos, mode, start, start_line, start_column, depth, in_string, line, line_start): where
#: the scan goes on; the record being cut (start -1: none), where it starts and how deep the
#: scan is in it; the line the scan is on, and where that line starts in the buffer
State = tuple[int, int, int, int, int, int, bool, int, int]
Spans = list[tuple[int, int, int]]
FIRST: State = (0, START, -1, 0, 0, 0, False, 1, 0)

#: inside a record, outside strings: what opens or closes a value or a string, or a line
_STRUCTURE = re.compile(rb'[\[\]{}"\n]')
#: inside a string: its end, an escape, or a line break (invalid there, but counted)
_IN_STRING = re.compile(rb'["\\\n]')
#: the end of a bare scalar (number, true, false, null)
_SCALAR_END = re.compile(rb'[ \t\r\n\x0b\x0c,\[\]{}"]')
_SPACE = re.compile(rb"[ \t\r\n]*")


def advance_python(buffer: bytes, state: State) -> tuple[Spans, State, int]:
    """Scan ``buffer`` on from ``state`` (:data:`FIRST` to begin).

    Returns ``(spans, state, error)``: ``(line, start, end)`` of each record completed, the state to
    go on from with more text (the compiled scan of ``jsonvec/records/_scan.pyx`` returns the same,
    byte for byte), and what is wrong with the document (0: nothing so far), the state then being
    where.

    >>> spans, state, error = advance_python(b'[{"a": "]"}, 2', FIRST)
    >>> spans, state[2], error
    ([(1, 1, 11)], 13, 0)
    """
    scan = _Scan(buffer, state)
    error = scan.run()
    return scan.spans, scan.state(), error


class _Scan:
    """The state of :func:`advance_python` as it goes."""

    def __init__(self, buffer: bytes, state: State) -> None:
        self.buffer = buffer
        (self.pos, self.mode, self.start, self.start_line, self.start_column, self.depth,
         self.in_string, self.line, self.line_start) = state  # fmt: skip
        self.spans: Spans = []

    def state(self) -> State:
        return (self.pos, self.mode, self.start, self.start_line, self.start_column,
                self.depth, self.in_string, self.line, self.line_start)  # fmt: skip

    def run(self) -> int:
        while self.pos < len(self.buffer):
            if self.start >= 0:
                if not self.in_record():
                    return 0
                continue
            error = self.between()
            if error:
                return error
        return 0

    def lines(self, start: int, end: int) -> None:
        """Count the line breaks of ``buffer[start:end]``."""
        breaks = self.buffer.count(b"\n", start, end)
        if breaks:
            self.line += breaks
            self.line_start = self.buffer.rfind(b"\n", start, end) + 1

    def emit(self, end: int) -> None:
        self.spans.append((self.start_line, self.start, end))
        self.start = -1
        if self.mode in (ARRAY_FIRST, ARRAY_COMMA):
            self.mode = ARRAY_NEXT

    def in_record(self) -> bool:
        """Scan on inside a record; False when the buffer is used up."""
        buffer, pos = self.buffer, self.pos
        if not self.in_string and self.depth == 0:  # a bare scalar
            end = _SCALAR_END.search(buffer, pos)
            if end is None:
                self.pos = len(buffer)
                return False
            self.pos = end.start()
            self.emit(self.pos)
            return True
        found = (_IN_STRING if self.in_string else _STRUCTURE).search(buffer, pos)
        if found is None:
            self.lines(pos, len(buffer))
            self.pos = len(buffer)
            return False
        char, self.pos = found.group(), found.end()
        if char == b"\\":
            if self.pos == len(buffer):  # the escaped byte is in the next piece
                self.pos -= 1
                return False
            self.lines(self.pos, self.pos + 1)
            self.pos += 1
        else:
            self.mark(char)
        return True

    def mark(self, char: bytes) -> None:
        """Take a line break, a quote or a bracket of a record into account."""
        if char == b"\n":
            self.line, self.line_start = self.line + 1, self.pos
        elif char == b'"':
            self.in_string = not self.in_string
            if not self.in_string and self.depth == 0:
                self.emit(self.pos)
        elif char in (b"{", b"["):
            self.depth += 1
        else:
            self.depth -= 1
            if self.depth == 0:
                self.emit(self.pos)

    def between(self) -> int:
        """Scan on between records: an error code, or 0."""
        buffer = self.buffer
        space = _SPACE.match(buffer, self.pos)
        assert space is not None
        self.lines(self.pos, space.end())
        pos = self.pos = space.end()
        if pos == len(buffer):
            return 0
        char, mode = buffer[pos : pos + 1], self.mode
        error = 0
        if mode == START:
            self.mode, self.pos = (ARRAY_FIRST, pos + 1) if char == b"[" else (VALUES, pos)
        elif char == b"]" and mode in _IN_ARRAY:
            error = COMMA_BEFORE_CLOSE if mode == ARRAY_COMMA else 0
            self.mode, self.pos = (mode, pos) if error else (AFTER_ARRAY, pos + 1)
        elif mode == ARRAY_NEXT:
            error = EXPECTED_COMMA if char != b"," else 0
            self.mode, self.pos = (mode, pos) if error else (ARRAY_COMMA, pos + 1)
        elif mode == AFTER_ARRAY:
            error = MORE_AFTER_ARRAY
        elif char in (b",", b"]", b"}"):
            error = UNEXPECTED
        else:
            self.begin(char)
        return error

    def begin(self, char: bytes) -> None:
        """A record starts at ``pos`` with ``char``."""
        self.start, self.start_line = self.pos, self.line
        self.start_column = self.pos - self.line_start + 1
        self.depth = 1 if char in (b"{", b"[") else 0
        self.in_string = char == b'"'
        self.pos += 1


advance: Callable[[bytes, State], tuple[Spans, State, int]]
try:
    from jsonvec.records._scan import advance
except ImportError:  # built without a C compiler
    advance = advance_python


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
        self._state: State = FIRST
        self._first = True  # nothing fed yet (a byte order mark may come first)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The records completed by ``data``, in order."""
        if self._first and data:
            data = self._buffer + data
            if len(data) < len(BOM) and BOM.startswith(data):
                self._buffer = data  # too short to tell whether it is a byte order mark
                return []
            self._buffer, self._first = b"", False
            if data.startswith(BOM):
                data = data[len(BOM) :]
        pos, mode, start, line0, column0, depth, in_string, line, line_start = self._state
        keep = start if start >= 0 else pos  # what is left of the record being cut
        self._buffer = self._buffer[keep:] + data
        state = (pos - keep, mode, start - keep if start >= 0 else -1, line0, column0, depth,
                 in_string, line, line_start - keep)  # fmt: skip
        spans, self._state, error = advance(self._buffer, state)
        if error:
            self._fail(error)
        buffer = self._buffer
        return [(at, buffer[begin:end]) for at, begin, end in spans]

    def finish(self) -> list[tuple[int, bytes]]:
        """The last record (a bare scalar ends only with the document); raises
        :class:`InputError` if the document is cut short."""
        _, mode, start, line0, column0, depth, in_string, line, line_start = self._state
        found: list[tuple[int, bytes]] = []
        if start >= 0 and depth == 0 and not in_string:  # a bare scalar at the very end
            found.append((line0, self._buffer[start:]))
            start, mode = -1, ARRAY_NEXT if mode in (ARRAY_FIRST, ARRAY_COMMA) else mode
        if start >= 0:
            self._say(line0, column0, "the document ends inside a record that starts here")
        if mode in _IN_ARRAY:
            column = len(self._buffer) - line_start + 1
            self._say(line, column, "the document ends before its array is closed by ]")
        return found

    def _fail(self, error: int) -> None:
        pos, mode, *_, line, line_start = self._state
        reason = _REASONS.get(error)
        if reason is None:  # UNEXPECTED
            where = "between elements" if mode in _IN_ARRAY else "between top-level values"
            reason = f"unexpected {chr(self._buffer[pos])} {where}"
        self._say(line, pos - line_start + 1, reason)

    def _say(self, line: int, column: int, reason: str) -> NoReturn:
        raise InputError(f"{self.source}:{line}: not a JSON document: {reason} (column {column})")
