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


def cosines(collection: Collection, queries: NDArray[np.float32]) -> NDArray[np.float32]:
    """Every row's cosine with every query: shape (n_queries, count), float32."""
    blocks = [(queries @ block.T).astype(np.float32) for _, block in collection.chunks()]
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
    (:mod:`jsonvec.search.fields`), ties broken by the cosine with the query ``vectors``."""
    unheld: list[Path] = []
    scores = field_scores(values, collection.all_records(), unheld)
    rows, best = ranked(scores, cosines(collection, queries), k, allowed)
    warnings = []
    if unheld:
        census = take_census(collection.all_records())
        warnings = [missing_path(generic_path(p), census, "--by-field") for p in unheld]
    return Found(rows, best, warnings)


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
