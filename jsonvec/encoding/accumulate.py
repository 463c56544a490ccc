"""Adding bound entries into record vectors, exactly, and the final normalisation.

Every entry is scaled by its term's weight and rounded to a whole multiple of 2⁻³² before it is
added (``rint(value · weight · 2³²)``), so a record's coordinates are sums of integers far below
2⁵³: exact in float64 whatever the order of the additions. That is what lets terms be added in
any order, batch or process and still give the same bits. The only other reduction is the
norm, summed in a fixed binary tree (:mod:`jsonvec._utils.stable`). This is the reference in numpy;
``jsonvec/encoding/_core.pyx`` does the same in C (integer sums, the same tree).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from jsonvec._utils.stable import normalize

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

UNIT = 2.0**32  # an entry becomes a whole number of 2**-32


def add(
    acc: FloatArray,
    slots: IntArray,
    values: FloatArray,
    weights: FloatArray,
) -> None:
    """Add ``rint(values · weights · 2³²)`` at ``slots`` of the flat ``acc``: all shape (n,)."""
    if len(slots):
        exact = np.rint(values * (weights * UNIT))
        acc += np.bincount(slots, weights=exact, minlength=len(acc))


def finish(
    acc: FloatArray, bag: FloatArray | None, bag_weight: float, rows: int, dim: int
) -> NDArray[np.float32]:
    """The record vectors: ``acc`` normalised (mixed with the normalised ``bag`` of unbound
    leaves when ``bag_weight`` > 0), as float32 of shape (rows, dim)."""
    vectors = normalize(acc.reshape(rows, dim))
    if bag is not None:
        vectors = normalize(vectors + bag_weight * normalize(bag.reshape(rows, dim)))
    return vectors.astype(np.float32)
