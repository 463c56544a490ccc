"""The bound leaf vectors of (path, value) pairs met so far, kept in flat arrays.

A term of a record is a leaf vector bound by its path's role, ``Q_path · leaf``. The same
pair recurs constantly (``"status": "ok"``, ``"year": 2019``), so each pair's sparse bound
vector is computed once and kept here; a record's term then costs a lookup and a copy of a
few entries. The store holds at most about ``capacity`` entries: its owner clears it when it
is full, between batches.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Int64Array = NDArray[np.int64]
Float64Array = NDArray[np.float64]


class BoundStore:
    """Sparse vectors ``0, 1, 2...``: vector ``i`` has entries ``starts[i]:starts[i] + lengths[i]``.

    With ``raw=True`` each vector is also kept unbound (for the additive leaf terms).
    """

    def __init__(self, capacity: int, raw: bool = False) -> None:
        self.capacity = capacity
        self.raw = raw
        self.clear()

    def clear(self) -> None:
        """Forget every vector (ids start from 0 again)."""
        self.count = 0
        self.size = 0
        self.starts = np.zeros(1024, dtype=np.int64)
        self.lengths = np.zeros(1024, dtype=np.int64)
        self.positions = np.zeros(1 << 16, dtype=np.int32)
        self.values = np.zeros(1 << 16, dtype=np.float64)
        self.raw_positions = np.zeros(1 << 16 if self.raw else 0, dtype=np.int32)
        self.raw_values = np.zeros(1 << 16 if self.raw else 0, dtype=np.float64)

    @property
    def full(self) -> bool:
        """True once the store holds more entries than its capacity."""
        return self.size > self.capacity

    def append(
        self,
        lengths: Int64Array,
        positions: Int64Array,
        values: Float64Array,
        raw: tuple[Int64Array, Float64Array] | None = None,
    ) -> Int64Array:
        """Add vectors with ``lengths`` entries each, given end to end; returns their ids."""
        n, size = len(lengths), int(lengths.sum())
        self._reserve(self.count + n, self.size + size)
        ids = np.arange(self.count, self.count + n, dtype=np.int64)
        self.lengths[ids] = lengths
        self.starts[ids] = self.size + np.cumsum(lengths) - lengths
        span = slice(self.size, self.size + size)
        self.positions[span] = positions
        self.values[span] = values
        if self.raw and raw is not None:
            self.raw_positions[span] = raw[0]
            self.raw_values[span] = raw[1]
        self.count += n
        self.size += size
        return ids

    def _reserve(self, count: int, size: int) -> None:
        if count > len(self.starts):
            grown = max(count, 2 * len(self.starts))
            self.starts = _grow(self.starts, grown)
            self.lengths = _grow(self.lengths, grown)
        if size > len(self.positions):
            grown = max(size, 2 * len(self.positions))
            self.positions = _grow(self.positions, grown)
            self.values = _grow(self.values, grown)
            if self.raw:
                self.raw_positions = _grow(self.raw_positions, grown)
                self.raw_values = _grow(self.raw_values, grown)


def _grow(array: NDArray[Any], size: int) -> NDArray[Any]:
    grown = np.zeros(size, dtype=array.dtype)
    grown[: len(array)] = array
    return grown
