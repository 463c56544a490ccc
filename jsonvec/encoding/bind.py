"""Binding: moving a leaf's sparse entries by the role of the path where it was found.

A role is a chain (:mod:`jsonvec.encoding.path_tree`): the node's scatter table, then for each
enclosing ordered array, innermost first, ``Q_seq^k`` (``k`` is the element's index plus one)
and the array node's own table. Tables cost one lookup per entry. Powers of ``Q_seq`` cost one
too, whatever ``k``: the scatter map of ``Q_seq`` is split into its cycles once per codebook,
so ``k`` steps from coordinate ``j`` land ``k mod L`` places further along ``j``'s cycle (of
length ``L``), and the sign picked up on the way is the parity of the negative steps passed,
read from prefix counts over the cycle taken twice. Nothing is built per array position, so
binding an element of a million-element array costs what binding the first one does.

This is the reference in numpy; ``jsonvec/encoding/_core.pyx`` does the same per entry in C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.roles import SignedPermutation
from jsonvec.encoding.path_tree import PathNode

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class SeqPowers:
    """The cycles of a signed permutation's scatter map, to apply any power in O(1) per entry.

    Attributes
    ----------
    cycle : ndarray (dim,), the cycle of each coordinate.
    place : ndarray (dim,), the coordinate's place in its cycle.
    start, length : ndarrays (cycles,), where each cycle starts in ``members`` and its length.
    members : ndarray (dim,), the coordinates of every cycle in turn, in the order the map
        visits them.
    negatives : ndarray (2 * dim + cycles,), for each cycle taken twice, the number of
        negative signs met before each place (``neg_start`` says where each cycle's run begins).
    """

    cycle: IntArray
    place: IntArray
    start: IntArray
    length: IntArray
    members: IntArray
    negatives: IntArray
    neg_start: IntArray

    @classmethod
    def of(cls, role: SignedPermutation) -> SeqPowers:
        """The cycles of ``role``'s scatter map (``j`` moves to ``inverse[j]``)."""
        inverse, signs = role.scatter
        dim = role.dim
        cycle = np.full(dim, -1, dtype=np.int64)
        place = np.zeros(dim, dtype=np.int64)
        members: list[int] = []
        starts: list[int] = []
        negatives: list[int] = []
        neg_starts: list[int] = []
        for first in range(dim):
            if cycle[first] >= 0:
                continue
            index = len(starts)
            starts.append(len(members))
            run: list[int] = []
            j = first
            while cycle[j] < 0:
                cycle[j] = index
                place[j] = len(run)
                run.append(j)
                j = int(inverse[j])
            members += run
            neg_starts.append(len(negatives))
            count = 0
            negatives.append(0)
            for j in run + run:
                count += int(signs[j] < 0)
                negatives.append(count)
        lengths = np.asarray(np.diff([*starts, len(members)]), dtype=np.int64)
        return cls(
            cycle,
            place,
            np.asarray(starts, dtype=np.int64),
            lengths,
            np.asarray(members, dtype=np.int64),
            np.asarray(negatives, dtype=np.int64),
            np.asarray(neg_starts, dtype=np.int64),
        )

    def apply(
        self, positions: IntArray, values: FloatArray, powers: IntArray
    ) -> tuple[IntArray, FloatArray]:
        """Entries moved by ``Q^power`` each: shapes (n,), powers >= 0.

        >>> q = SignedPermutation.from_seed(0, "seq", "", 16)
        >>> steps = SeqPowers.of(q)
        >>> x = np.zeros(16)
        >>> x[3] = 1.0
        >>> p, v = steps.apply(np.array([3]), np.array([1.0]), np.array([5]))
        >>> y = q.power(5).apply(x)
        >>> bool(y[p[0]] == v[0]) and int(np.count_nonzero(y)) == 1
        True
        """
        cycle = self.cycle[positions]
        length = self.length[cycle]
        place = self.place[positions]
        rest = powers % length
        moved = self.members[self.start[cycle] + (place + rest) % length]
        base = self.neg_start[cycle] + place
        negatives = self.negatives[base + rest] - self.negatives[base]
        negatives += (powers // length) * self.negatives[self.neg_start[cycle] + length]
        return moved, np.where(negatives & 1, -values, values)


def bind(
    node: PathNode,
    positions: IntArray,
    values: FloatArray,
    powers: IntArray,
    steps: SeqPowers,
) -> tuple[IntArray, FloatArray]:
    """Entries of leaves found at ``node``, moved by the role of their path.

    Parameters
    ----------
    positions, values : ndarrays of shape (n,), the leaves' entries
    powers : ndarray of shape (n, node.depth), the power of ``Q_seq`` at each enclosing
        ordered array, innermost first (the element's index plus one)
    steps : the cycles of ``Q_seq``
    """
    if not node.identity:
        positions, values = node.inverse[positions], values * node.signs[positions]
    for level, array in enumerate(node.chain()):
        positions, values = steps.apply(positions, values, powers[:, level])
        if not array.identity:
            positions, values = array.inverse[positions], values * array.signs[positions]
    return positions, values
