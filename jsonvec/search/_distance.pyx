# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False, embedsignature=True
"""The optimal string alignment distance in C, and the field scores of records, for
:mod:`jsonvec.search.fields`."""

from cpython.dict cimport PyDict_Check, PyDict_GetItem
from cpython.object cimport PyObject
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


cdef int _TEXT_CHARS = 1000  # jsonvec.search.fields.TEXT_CHARS
_NUMBERS = (int, float, bool, type(None))


cdef double _text_similarity(str query, str value, double almost) except -1.0:
    """jsonvec.search.fields.similarity of two strings, the same float."""
    cdef Py_ssize_t lq, lv, head, tail, longest
    cdef double score
    if query == value:
        return 1.0
    lq = PyUnicode_GET_LENGTH(query)
    lv = PyUnicode_GET_LENGTH(value)
    head = osa_distance(
        query if lq <= _TEXT_CHARS else query[:_TEXT_CHARS],
        value if lv <= _TEXT_CHARS else value[:_TEXT_CHARS],
    )
    tail = (lq - _TEXT_CHARS if lq > _TEXT_CHARS else 0) - (lv - _TEXT_CHARS if lv > _TEXT_CHARS else 0)
    if tail < 0:
        tail = -tail
    longest = lq if lq > lv else lv
    score = 1.0 - <double>(head + tail) / <double>longest
    if score < 0.0:
        score = 0.0
    return score if score < almost else almost


def score_records(
    list records,
    list plans,
    list held,
    double[:, ::1] out,
    object similarity,
    object values_at,
    double almost,
    Py_ssize_t memo_values,
):
    """jsonvec.search.fields.FieldScorer.score of each record into the rows of ``out`` (one
    column per query), in C where a path is of keys and a value is text: the same floats.

    ``plans[q]`` holds query q's fields as ``(path, wanted, keys_only, memo)``; ``held[q][f]``
    becomes True where a record holds a value at field f's path; ``similarity`` and
    ``values_at`` are the Python functions for every other case.
    """
    cdef Py_ssize_t r, q, f, n_fields, n_queries = len(plans)
    cdef double total, best, known
    cdef list plan, flags
    cdef tuple field, path
    cdef dict memo
    cdef object record, value, wanted, key, remembered
    cdef PyObject* item
    cdef bint keys_only, found, text_query
    for r in range(len(records)):
        record = records[r]
        for q in range(n_queries):
            plan = <list>plans[q]
            n_fields = len(plan)
            if n_fields == 0:
                out[r, q] = 0.0
                continue
            flags = <list>held[q]
            total = 0.0
            for f in range(n_fields):
                field = <tuple>plan[f]
                path = <tuple>field[0]
                wanted = field[1]
                keys_only = field[2]
                memo = <dict>field[3]
                if keys_only:
                    value = record
                    found = True
                    for key in path:
                        if not PyDict_Check(value):
                            found = False
                            break
                        item = PyDict_GetItem(value, key)
                        if item == NULL:
                            found = False
                            break
                        value = <object>item
                    if not found:
                        continue
                    values = (value,)
                else:
                    values = values_at(record, path)
                    if not values:
                        continue
                if flags[f] is not True:
                    flags[f] = True
                text_query = type(wanted) is str
                best = 0.0
                for value in values:
                    if text_query and type(value) is str:
                        remembered = memo.get(value)
                        if remembered is None:
                            known = _text_similarity(<str>wanted, <str>value, almost)
                            if len(memo) >= memo_values:
                                memo.clear()
                            memo[value] = known
                        else:
                            known = remembered
                    elif type(value) in _NUMBERS:
                        key = (type(value), value)
                        remembered = memo.get(key)
                        if remembered is None:
                            known = similarity(wanted, value)
                            if len(memo) >= memo_values:
                                memo.clear()
                            memo[key] = known
                        else:
                            known = remembered
                    else:
                        known = similarity(wanted, value)
                    if known > best:
                        best = known
                total += best
            if total == n_fields:
                out[r, q] = 1.0
            else:
                known = total / n_fields
                out[r, q] = known if known < almost else almost
