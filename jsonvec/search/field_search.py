"""Searches that read the stored records: by field (``--by-field``) and filtered (``--where``).

Both score every row (an exact scan); the vectors' cosines order what the records leave
tied. Each answer carries its warnings as data, for the caller to show: a query path that no
stored record holds (a mistyped ``nmae``), with the nearest paths that exist; a ``--where``
value whose type differs from the values stored at its path (:mod:`jsonvec.search.census`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.codebook import Codebook
from jsonvec.search.census import Census, generic_path, missing_path, other_type, take_census
from jsonvec.search.fields import Path, field_scores, ranked
from jsonvec.search.where import Condition, decoded_mask, exact_mask
from jsonvec.storage.collection import Collection


@dataclass
class Found:
    """Rows and scores of shape (n_queries, <= k), best first, and what the caller should
    be told about them."""

    rows: NDArray[np.int64]
    scores: NDArray[np.float32]
    warnings: list[str] = field(default_factory=list)


def cosines(
    collection: Collection, queries: NDArray[np.float32], rows: NDArray[np.int64] | None = None
) -> NDArray[np.float32]:
    """The cosine of every row (or of ``rows``, sorted) with every query: shape (n_queries,
    count or len(rows)), float32; each computed with its whole block, so a row's cosine is
    the same whichever rows are asked for."""
    blocks = []
    for start, block in collection.chunks():
        near = (queries @ block.T).astype(np.float32)
        if rows is not None:
            at = rows[np.searchsorted(rows, start) : np.searchsorted(rows, start + len(block))]
            near = near[:, at - start]
        blocks.append(near)
    if not blocks:
        return np.zeros((len(queries), 0), dtype=np.float32)
    return np.concatenate(blocks, axis=1)


def search_by_field(
    collection: Collection,
    values: list[Any],
    queries: NDArray[np.float32],
    k: int,
    allowed: NDArray[np.bool_] | None = None,
) -> Found:
    """The best ``k`` rows (of the ``allowed`` ones) for each query value by field score
    (:mod:`jsonvec.search.fields`), ties broken by the cosine with the query ``vectors``.

    The records are streamed (a row group at a time) and scored as they come, in 8 bytes a
    row per query; the cosines are computed only for the rows that can be among the best
    ``k`` (those scoring at least the k-th best): :func:`best_by_fields`.
    """
    unheld: list[Path] = []
    scores = field_scores(values, collection.all_records(), unheld)
    rows, best = best_by_fields(collection, scores, queries, k, allowed)
    warnings = []
    if unheld:
        census = take_census(collection.all_records())
        warnings = [missing_path(generic_path(p), census, "--by-field") for p in unheld]
    return Found(rows, best, warnings)


#: contenders whose vectors are read where they are, rather than in a pass over every vector
FEW_ROWS = 256


def best_by_fields(
    collection: Collection,
    scores: NDArray[np.float64],
    queries: NDArray[np.float32],
    k: int,
    allowed: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """What :func:`jsonvec.search.fields.ranked` gives for ``scores`` and every row's cosine
    with ``queries``, with the cosines kept only for the rows that can be among the best
    ``k`` of a query: those of the ``allowed`` rows scoring at least its k-th best. Up to
    :data:`FEW_ROWS` of them have their vectors read where they are; more are picked from
    one pass over the vectors."""
    n_queries, n = scores.shape
    pool = np.arange(n) if allowed is None else np.flatnonzero(allowed)
    contenders = []
    for q in range(n_queries):
        mine = pool
        if len(pool) > k:
            kth = np.partition(scores[q, pool], len(pool) - k)[len(pool) - k]
            mine = pool[scores[q, pool] >= kth]
        contenders.append(mine)
    union = np.unique(np.concatenate(contenders)) if contenders else pool[:0]
    if len(union) <= FEW_ROWS:  # read only their vectors
        near = (queries @ collection.vectors_at(union.tolist()).T).astype(np.float32)
    else:
        near = cosines(collection, queries, union)
    rows = np.full((n_queries, k), -1, dtype=np.int64)
    best = np.zeros((n_queries, k), dtype=np.float32)
    for q, mine in enumerate(contenders):
        tie = near[q, np.searchsorted(union, mine)]
        order = np.lexsort((mine, -tie, -scores[q, mine]))[:k]
        rows[q, : len(order)] = mine[order]
        best[q, : len(order)] = scores[q, mine[order]]
    keep = min(k, len(pool))
    return rows[:, :keep], best[:, :keep]


def search_filtered(
    collection: Collection, queries: NDArray[np.float32], k: int, allowed: NDArray[np.bool_]
) -> Found:
    """The best ``k`` of the ``allowed`` rows for each query, by cosine."""
    near = cosines(collection, queries)
    rows, best = ranked(near, near, k, allowed)
    return Found(rows, best)


@dataclass
class Filter:
    """Which rows hold every condition, how that was found, and what to tell about it."""

    allowed: NDArray[np.bool_]
    decoded: bool  # read back from the vectors: no records were stored
    warnings: list[str] = field(default_factory=list)


def where_mask(
    collection: Collection, conditions: Sequence[Condition], codebook: Codebook
) -> Filter:
    """The rows that hold every condition: exactly from the stored records, else decoded
    from the vectors (:mod:`jsonvec.search.where`). When no stored record passes, the warnings say
    which condition's path no record holds, or holds values of another type at."""
    if not collection.has_records:
        mask = decoded_mask(conditions, collection.chunks(), codebook)
        return Filter(mask, decoded=True)
    mask = exact_mask(conditions, collection.all_records())
    warnings = [] if mask.any() else _explain(conditions, take_census(collection.all_records()))
    return Filter(mask, decoded=False, warnings=warnings)


def _explain(conditions: Sequence[Condition], census: Census) -> list[str]:
    warnings = []
    for condition in conditions:
        path = generic_path(condition.path)
        what = f"--where {condition}"
        if path not in census:
            warnings.append(missing_path(path, census, what))
        elif (mismatch := other_type(path, condition.value, census, what)) is not None:
            warnings.append(mismatch)
    return warnings
