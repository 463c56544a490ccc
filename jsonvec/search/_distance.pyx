# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False, embedsignature=True
"""The optimal string alignment distance in C, for the field scores of
:mod:`jsonvec.search.fields`."""

from cpython.unicode cimport PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND, PyUnicode_READ
from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc


def osa_distance(str a, str b):
    """Optimal string alignment distance of two strings (jsonvec.search.fields._osa_python, in C):
    insertions, deletions, substitutions and swaps of neighbours, one edit each."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(a), m = PyUnicode_GET_LENGTH(b), i, j
    cdef int ka = PyUnicode_KIND(a), kb = PyUnicode_KIND(b)
    cdef void* da = PyUnicode_DATA(a)
    cdef void* db = PyUnicode_DATA(b)
    cdef Py_ssize_t* rows
    cdef Py_ssize_t* before
    cdef Py_ssize_t* previous
    cdef Py_ssize_t* current
    cdef Py_ssize_t* spare
    cdef Py_ssize_t best, cost, result
    cdef uint32_t ca, cb
    if a == b:
        return 0
    if n == 0 or m == 0:
        return n + m
    rows = <Py_ssize_t*> malloc(3 * (m + 1) * sizeof(Py_ssize_t))
    if rows == NULL:
        raise MemoryError()
    before, previous, current = rows, rows + (m + 1), rows + 2 * (m + 1)
    for j in range(m + 1):
        before[j] = j
        previous[j] = j
    for i in range(1, n + 1):
        current[0] = i
        ca = PyUnicode_READ(ka, da, i - 1)
        for j in range(1, m + 1):
            cb = PyUnicode_READ(kb, db, j - 1)
            cost = 0 if ca == cb else 1
            best = previous[j] + 1
            if current[j - 1] + 1 < best:
                best = current[j - 1] + 1
            if previous[j - 1] + cost < best:
                best = previous[j - 1] + cost
            if (
                i > 1 and j > 1
                and ca == PyUnicode_READ(kb, db, j - 2)
                and PyUnicode_READ(ka, da, i - 2) == cb
                and before[j - 2] + 1 < best
            ):
                best = before[j - 2] + 1
            current[j] = best
        spare = before
        before = previous
        previous = current
        current = spare
    result = previous[m]
    free(rows)
    return result
