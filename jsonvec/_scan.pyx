# cython: boundscheck=False, wraparound=False
"""The scan of one record of a JSON document at the speed of C (:mod:`jsonvec.documents`).

The same function as ``jsonvec.documents.scan_record_python``, byte for byte; the tests hold
the two to the same answers on random documents cut at random places.
"""


def scan_record(const unsigned char[:] buffer, Py_ssize_t pos, Py_ssize_t depth, bint in_string):
    """Scan a record's text from ``pos``, ``depth`` containers deep, in a string or not.

    Returns ``(pos, depth, in_string)``: with depth 0 and not in a string, the record ends
    just before ``pos``; otherwise the buffer was used up and the scan goes on from ``pos``
    with more text (an escape cut by the end of the buffer resumes at its backslash).
    """
    cdef Py_ssize_t n = buffer.shape[0]
    cdef unsigned char c
    while pos < n:
        c = buffer[pos]
        if in_string:
            if c == 34:  # "
                in_string = False
                if depth == 0:
                    return pos + 1, 0, False
            elif c == 92:  # backslash: the next byte is escaped
                if pos + 1 >= n:
                    return pos, depth, True
                pos += 1
        elif c == 34:
            in_string = True
        elif c == 123 or c == 91:  # { [
            depth += 1
        elif c == 125 or c == 93:  # } ]
            depth -= 1
            if depth == 0:
                return pos + 1, 0, False
        pos += 1
    return pos, depth, in_string
