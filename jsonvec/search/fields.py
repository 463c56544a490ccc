"""Field-level matching: a partial query scored against stored records field by field.

A record vector carries each of its n leaves with about ``1/sqrt(n)`` of its length, and the
crosstalk of the others is about ``1/sqrt(dim)``; so on wide records a one-field query sits
near the noise floor, and a typo in it sinks below it (measured in docs/partial.md: 31-95%
of exact values and 6-16% of one-typo values rank their holder first on records of 76-128
leaves at dim 1024). With the records stored (``encode --keep-records``), ``similar
--by-field`` answers such queries from the records themselves, field by field:

- the query's **fields** are its leaves with their paths (:func:`query_fields`); an array in
  the query means "an element of the array there", in any position;
- a record's score is the mean over the query's fields of the best **similarity** between the
  query's value and a value the record holds at that path (:func:`similarity`: 1.0 for the
  same value; strings by their optimal string alignment distance, so a dropped, doubled or
  swapped letter costs one edit; numbers by their relative difference), 0.0 where it holds
  nothing there;
- **1.0 means the same value and nothing else**: two different values score at most
  :data:`ALMOST` (0.999999 in six digits), however close (ids 138586341 and 138586345 differ
  by 3e-8 relatively), and so does a record that is not the same in every field; so a record
  holding the exact value ranks above every record that does not, and the vectors' cosine
  orders the near ones.

Every record is scored (an exact scan, no candidate set from the vectors: on wide records
the holder of a mistyped value is rarely among the vectors' first hundred, docs/partial.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.records import paths

ANY = None  # a path step: any element of an array
Path = tuple[str | None, ...]
#: the best score of a value that is not the query's own, or of a record that does not hold
#: every value of the query: below 1.0 in six digits as in float32
ALMOST = 1.0 - 2.0**-20
#: characters of two strings compared by edit distance (as the n-grams of a vector: the first
#: 1,000); different strings that share them differ by their lengths, or score ALMOST
TEXT_CHARS = 1000

_osa_distance: Callable[[str, str], int] | None
_score_records: Callable[..., None] | None
try:
    from jsonvec.search._distance import osa_distance as _osa_distance
    from jsonvec.search._distance import score_records as _score_records
except ImportError:  # no compiled core: the same distance and scores in Python
    _osa_distance = _score_records = None


def query_fields(query: Any) -> list[tuple[Path, Any]]:
    """The leaves of a query with their paths: ``{"a": {"b": 1}, "c": ["x"]}`` gives
    ``[(("a", "b"), 1), (("c", ANY), "x")]``. A bare scalar is one field at the root."""
    return list(_leaves(query, ()))


def _leaves(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(value, list) and value:
        for child in value:
            yield from _leaves(child, (*path, ANY))
    else:
        yield path, value


def values_at(record: Any, path: Path) -> list[Any]:
    """Every value ``record`` holds at ``path`` (several when it passes through arrays)."""
    return paths.values_at(record, path, every=ANY)


def osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    neighbours, each one edit (a swapped pair is one edit, not two).

    >>> osa_distance("Germany", "Germny"), osa_distance("Berlin", "Berlni")
    (1, 1)
    """
    if _osa_distance is not None:
        return int(_osa_distance(a, b))
    return _osa_python(a, b)


def _osa_python(a: str, b: str) -> int:
    """The reference of :func:`osa_distance` (the compiled core computes the same)."""
    if a == b:
        return 0
    n, m = len(a), len(b)
    before = list(range(m + 1))  # row i - 2
    previous = list(range(m + 1))  # row i - 1
    for i in range(1, n + 1):
        current = [i] + [0] * m
        for j in range(1, m + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, before[j - 2] + 1)
            current[j] = best
        before, previous = previous, current
    return previous[m]


def similarity(query: Any, value: Any) -> float:
    """How well ``value`` matches ``query``, in [0, 1]; 1.0 for the same value only.

    Strings: ``1 - osa_distance / max(len)`` (over their first :data:`TEXT_CHARS`
    characters). Numbers (bools excluded):
    ``1 - |a - b| / (|a| + |b|)``. Both at most :data:`ALMOST` for different values. Anything
    else: 1.0 if equal, else 0.0. A string never matches a number.

    >>> similarity("Jonathan", "Johnathan"), similarity(10, 12), similarity(True, 1)
    (0.8888888888888888, 0.9090909090909091, 0.0)
    >>> similarity(138586341, 138586341), round(similarity(138586341, 138586345), 6)
    (1.0, 0.999999)
    """
    if isinstance(query, str) and isinstance(value, str):
        return min(_text_similarity(query, value), ALMOST) if query != value else 1.0
    if _is_number(query) and _is_number(value):
        return min(_number_similarity(query, value), ALMOST) if query != value else 1.0
    if _is_number(query) or isinstance(query, str):
        return 0.0
    # true, false, null, {} and []: the same value or nothing
    return 1.0 if type(query) is type(value) and query == value else 0.0


def _number_similarity(query: float, value: float) -> float:
    if query == value:
        return 1.0
    try:
        return max(0.0, 1.0 - float(abs(query - value) / (abs(query) + abs(value))))
    except OverflowError:  # an integer beyond any float beside a float: far apart
        return 0.0


def _text_similarity(query: str, value: str) -> float:
    """``1 - osa_distance / max(len)`` over the first :data:`TEXT_CHARS` characters (the
    distance takes time in the product of the lengths: two strings of a million characters
    would take hours), and the difference in length past them."""
    if query == value:
        return 1.0
    head = osa_distance(query[:TEXT_CHARS], value[:TEXT_CHARS])
    tail = abs(max(len(query) - TEXT_CHARS, 0) - max(len(value) - TEXT_CHARS, 0))
    return max(0.0, 1.0 - (head + tail) / max(len(query), len(value)))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def field_score(
    fields: list[tuple[Path, Any]], record: Any, held: list[bool] | None = None
) -> float:
    """The mean over ``fields`` of the best similarity at each path (0.0 where none): 1.0
    only when the record holds every field's value, else at most :data:`ALMOST`.

    ``held[i]`` becomes True where the record holds a value at field i's path.
    """
    if not fields:
        return 0.0
    total = 0.0
    for index, (path, wanted) in enumerate(fields):
        found = values_at(record, path)
        if found and held is not None:
            held[index] = True
        total += max((similarity(wanted, v) for v in found), default=0.0)
    return 1.0 if total == len(fields) else min(total / len(fields), ALMOST)


def field_scores(
    queries: list[Any], records: Iterable[Any], unheld: list[Path] | None = None
) -> NDArray[np.float64]:
    """Scores of every record for every query: shape (n_queries, n_records), float64.

    ``unheld``, if given, receives the query paths that no record holds a value at (a
    mistyped path scores 0.0 everywhere: the caller says so).
    """
    scorer = FieldScorer(queries)
    blocks = [scorer.score_block(block) for block in _blocks(records, _SCORE_BLOCK)]
    if unheld is not None:
        unheld.extend(scorer.unheld())
    if not blocks:
        return np.zeros((len(queries), 0), dtype=np.float64)
    return np.concatenate(blocks).T.copy()


#: records scored together (by the compiled scorer: one call)
_SCORE_BLOCK = 4096


def _blocks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    block: list[Any] = []
    for item in items:
        block.append(item)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


#: values whose similarity to a query value a scorer remembers, per query field
_MEMO_VALUES = 1 << 16
_SCALARS = (str, int, float, bool, type(None))


class FieldScorer:
    """:func:`field_score` of each query for one record after another, as fast as Python
    goes: the similarity of a value to a query field is remembered (strings and numbers
    repeat across records: cities, tags, codes), and a path of plain keys is walked inline.

    Gives exactly the scores of :func:`field_score`.
    """

    def __init__(self, queries: list[Any]) -> None:
        self.fields = [query_fields(q) for q in queries]
        self._held = [[False] * len(f) for f in self.fields]
        self._plan: list[list[tuple[Path, Any, bool, dict[tuple[type, Any], float]]]] = [
            [(path, wanted, all(isinstance(step, str) for step in path), {}) for path, wanted in f]
            for f in self.fields
        ]

    def score(self, record: Any) -> list[float]:
        """The record's score for each query."""
        scores = []
        for plan, held in zip(self._plan, self._held, strict=True):
            if not plan:
                scores.append(0.0)
                continue
            total = 0.0
            for index, (path, wanted, keys_only, memo) in enumerate(plan):
                found = _walk(record, path) if keys_only else values_at(record, path)
                if not found:
                    continue
                held[index] = True
                best = 0.0
                for value in found:
                    if value.__class__ in _SCALARS:
                        key = (value.__class__, value)
                        known = memo.get(key)
                        if known is None:
                            if len(memo) >= _MEMO_VALUES:
                                memo.clear()
                            known = memo[key] = similarity(wanted, value)
                    else:
                        known = similarity(wanted, value)
                    best = known if known > best else best
                total += best
            scores.append(1.0 if total == len(plan) else min(total / len(plan), ALMOST))
        return scores

    def score_block(self, records: list[Any]) -> NDArray[np.float64]:
        """The scores of ``records``: shape (len(records), n_queries); compiled where the
        core is built, the same floats as :meth:`score`."""
        out = np.zeros((len(records), len(self.fields)), dtype=np.float64)
        if _score_records is not None:
            _score_records(
                records, self._plan, self._held, out, similarity, values_at, ALMOST, _MEMO_VALUES
            )
        else:
            for row, record in enumerate(records):
                out[row] = self.score(record)
        return out

    def unheld(self) -> list[Path]:
        """The query paths no record scored so far holds a value at, each once."""
        return list(
            dict.fromkeys(
                path
                for query_held, query in zip(self._held, self.fields, strict=True)
                for was_held, (path, _) in zip(query_held, query, strict=True)
                if not was_held
            )
        )


def _walk(record: Any, path: Path) -> list[Any]:
    """The value at a path of keys only, as a list of one (or none)."""
    value = record
    for key in path:
        if not isinstance(value, dict):
            return []
        value = value.get(key, _MISSING)
        if value is _MISSING:
            return []
    return [value]


_MISSING = object()


def rank_by_fields(
    queries: list[Any],
    records: Iterable[Any],
    cosines: NDArray[np.float32],
    k: int,
    allowed: NDArray[np.bool_] | None = None,
    unheld: list[Path] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The best ``k`` rows for each query by field score, ties broken by the vectors' cosine
    (then by row), and their field scores; only ``allowed`` rows when given; ``unheld``
    receives the query paths no record holds (:func:`field_scores`).

    Parameters
    ----------
    queries : list of JSON values
    records : iterable of JSON values, one per row, in row order (None: none stored)
    cosines : ndarray of shape (n_queries, n_records), float32
    k : int
    allowed : ndarray of shape (n_records,), bool, optional

    Returns
    -------
    rows : ndarray of shape (n_queries, min(k, n_records)), int64, best first
    scores : ndarray of the same shape, float32
    """
    scores = field_scores(queries, records, unheld)
    if scores.shape != cosines.shape:
        raise ValueError(f"{scores.shape[1]} records but {cosines.shape[1]} vectors")
    return ranked(scores, cosines, k, allowed)


def ranked(
    primary: NDArray[np.floating],
    cosines: NDArray[np.float32],
    k: int,
    allowed: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """The best ``k`` of the ``allowed`` rows (all when None) of each query by ``primary``,
    then cosine, then row: rows (n_queries, k) and their primary scores; a query with fewer
    rows allowed than ``k`` is padded with row -1."""
    n = primary.shape[1]
    candidates = np.arange(n) if allowed is None else np.flatnonzero(allowed)
    rows = np.full((primary.shape[0], k), -1, dtype=np.int64)
    best = np.zeros((primary.shape[0], k), dtype=np.float32)
    for q in range(primary.shape[0]):
        order = np.lexsort((candidates, -cosines[q, candidates], -primary[q, candidates]))[:k]
        rows[q, : len(order)] = candidates[order]
        best[q, : len(order)] = primary[q, candidates[order]]
    keep = min(k, len(candidates))
    return rows[:, :keep], best[:, :keep]
