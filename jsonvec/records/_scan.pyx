# cython: boundscheck=False, wraparound=False
"""Cutting input into records at the speed of C: a JSON document (:mod:`jsonvec.records.documents`)
and JSON Lines (:mod:`jsonvec.records.batches`).

Each function is the same as its Python twin (``jsonvec.records.documents.advance_python``,
``jsonvec.records.batches.cut_python``), answer for answer; the tests hold each pair to the same
answers on random input cut at random places.
"""

from cpython cimport array
from libc.string cimport memchr

import array as _array

cdef array.array _INT64 = _array.array("q")

# where the scan is between records (jsonvec.records.documents holds the same numbers)
DEF START = 0
DEF ARRAY_FIRST = 1
DEF ARRAY_NEXT = 2
DEF ARRAY_COMMA = 3
DEF AFTER_ARRAY = 4
DEF VALUES = 5
# what is wrong with a document, where it stops the scan
DEF COMMA_BEFORE_CLOSE = 1
DEF EXPECTED_COMMA = 2
DEF MORE_AFTER_ARRAY = 3
DEF UNEXPECTED = 4


cdef inline bint _space(unsigned char c) noexcept:
    return c == 32 or c == 9 or c == 13 or c == 10


cdef inline bint _scalar_end(unsigned char c) noexcept:
    return (_space(c) or c == 44 or c == 91 or c == 93 or c == 123 or c == 125 or c == 34
            or c == 11 or c == 12)


def advance(const unsigned char[:] buffer, tuple state):
    """Scan ``buffer`` on from the state of a previous scan (see ``advance_python``).

    Returns ``(spans, state, error)``: ``(line, start, end)`` of each record completed, the
    state to go on from with more text, and an error code (0: none) with the state at it.
    """
    cdef Py_ssize_t n = buffer.shape[0]
    cdef Py_ssize_t pos, start, start_line, start_column, depth, line, line_start
    cdef int mode
    cdef bint in_string
    cdef int error = 0
    cdef unsigned char c
    pos, mode, start, start_line, start_column, depth, in_string, line, line_start = state
    spans = []
    while pos < n:
        c = buffer[pos]
        if start >= 0:  # inside a record
            if in_string:
                if c == 34:  # "
                    in_string = False
                    if depth == 0:
                        spans.append((start_line, start, pos + 1))
                        start = -1
                        if mode == ARRAY_FIRST or mode == ARRAY_COMMA:
                            mode = ARRAY_NEXT
                elif c == 92:  # backslash: the next byte is escaped
                    if pos + 1 >= n:
                        break  # go on at the backslash with more text
                    pos += 1
                    if buffer[pos] == 10:
                        line += 1
                        line_start = pos + 1
                elif c == 10:
                    line += 1
                    line_start = pos + 1
            elif depth > 0:
                if c == 34:
                    in_string = True
                elif c == 123 or c == 91:  # { [
                    depth += 1
                elif c == 125 or c == 93:  # } ]
                    depth -= 1
                    if depth == 0:
                        spans.append((start_line, start, pos + 1))
                        start = -1
                        if mode == ARRAY_FIRST or mode == ARRAY_COMMA:
                            mode = ARRAY_NEXT
                elif c == 10:
                    line += 1
                    line_start = pos + 1
            elif _scalar_end(c):  # a bare scalar ends here; this byte is looked at again
                spans.append((start_line, start, pos))
                start = -1
                if mode == ARRAY_FIRST or mode == ARRAY_COMMA:
                    mode = ARRAY_NEXT
                continue
            pos += 1
            continue
        if _space(c):
            if c == 10:
                line += 1
                line_start = pos + 1
            pos += 1
            continue
        if mode == START:
            if c == 91:
                mode = ARRAY_FIRST
                pos += 1
            else:
                mode = VALUES
            continue
        if c == 93 and (mode == ARRAY_FIRST or mode == ARRAY_NEXT or mode == ARRAY_COMMA):
            if mode == ARRAY_COMMA:
                error = COMMA_BEFORE_CLOSE
                break
            mode = AFTER_ARRAY
            pos += 1
            continue
        if mode == ARRAY_NEXT:
            if c != 44:
                error = EXPECTED_COMMA
                break
            mode = ARRAY_COMMA
            pos += 1
            continue
        if mode == AFTER_ARRAY:
            error = MORE_AFTER_ARRAY
            break
        if c == 44 or c == 93 or c == 125:
            error = UNEXPECTED
            break
        start = pos
        start_line = line
        start_column = pos - line_start + 1
        depth = 1 if (c == 123 or c == 91) else 0
        in_string = c == 34
        pos += 1
    return spans, (pos, mode, start, start_line, start_column, depth, in_string, line, line_start), error


cdef inline bint _line_space(unsigned char c) noexcept:
    return c == 32 or c == 9 or c == 13 or c == 10


def cut(const unsigned char[:] buffer, Py_ssize_t pos, Py_ssize_t max_records,
        Py_ssize_t max_bytes, bint final, bint line_one):
    """One batch of the lines of ``buffer`` from ``pos`` (see ``cut_python``)."""
    cdef Py_ssize_t n = buffer.shape[0]
    cdef Py_ssize_t records = 0, lines = 0, nbytes = 0, start, end, first, last
    cdef const unsigned char* data = &buffer[0] if n else NULL
    cdef const unsigned char* found
    cdef bint complete = False, blank
    cdef array.array starts = array.clone(_INT64, max_records, False)
    cdef array.array ends = array.clone(_INT64, max_records, False)
    cdef array.array offsets = array.clone(_INT64, max_records, False)
    while pos < n and not complete:
        found = <const unsigned char*>memchr(data + pos, 10, n - pos)
        if found == NULL:
            if not final:
                break
            end = n
        else:
            end = found - data + 1
        start = pos
        first = start
        while first < end and _line_space(data[first]):
            first += 1
        blank = first == end
        if not blank and line_one and lines == 0 and end - first >= 3:
            last = end - 1
            while _line_space(data[last]):
                last -= 1
            blank = (last - first == 2 and data[first] == 0xEF and data[first + 1] == 0xBB
                     and data[first + 2] == 0xBF)
        if not blank:
            starts.data.as_longlongs[records] = start
            ends.data.as_longlongs[records] = end
            offsets.data.as_longlongs[records] = lines
            records += 1
            nbytes += end - start
            complete = records >= max_records or nbytes >= max_bytes
        lines += 1
        pos = end
    array.resize(starts, records)
    array.resize(ends, records)
    array.resize(offsets, records)
    return pos, lines, complete, starts, ends, offsets
