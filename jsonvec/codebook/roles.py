"""Role matrices: seeded signed permutations, exactly orthogonal and cheap to apply.

A signed permutation ``Q`` maps ``x`` to ``(Qx)[i] = signs[i] * x[perm[i]]``. Every such matrix is
orthogonal (``QᵀQ = I`` exactly, in any precision), products and powers of them are signed
permutations again, applying one costs O(dim) instead of the O(dim²) of a dense matrix, and it needs
no floating-point arithmetic at all, so it is identical on every machine. It is derived from (seed,
role name) by the stable hash in :mod:`jsonvec.codebook.hashing` (:func:`scatter_of`), so nothing
has to be stored per key: a codebook stays a few hundred bytes whatever the number of keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.hashing import GOLDEN, hash_texts, kind_key, mix

FloatArray = NDArray[np.floating]


def role_hash(seed: int, kind: str, name: str) -> int:
    """The 64-bit hash a role is drawn from: ``name``'s code points under the key of its kind
    (the compiled core hashes a new key the same way, in C)."""
    return int(hash_texts([name], kind_key(seed, f"role:{kind}"))[0])


def scatter_of(h: int, dim: int) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
    """The scatter map of the signed permutation drawn from hash ``h``: where each coordinate
    goes, and whether it is negated there.

    A Fisher-Yates shuffle of ``0 .. dim-1`` driven by SplitMix64 words ``w_i = mix(h + (i+1)
    · golden)``: from ``i = dim - 1`` down to 1, place ``i`` swaps with ``j = (w_i >> 32) ·
    (i + 1) >> 32``; coordinate ``i`` is negated when ``w_i`` is odd. Integer arithmetic only,
    O(dim): a role costs microseconds in C, so records with ever-new keys stay fast.
    """
    steps = np.arange(1, dim + 1, dtype=np.uint64) * GOLDEN
    words = mix(np.uint64(h) + steps)
    bound = np.arange(1, dim + 1, dtype=np.uint64)
    picks = (((words >> np.uint64(32)) * bound) >> np.uint64(32)).tolist()
    inverse = list(range(dim))
    for i, j in zip(range(dim - 1, 0, -1), picks[dim - 1 : 0 : -1], strict=True):
        inverse[i], inverse[j] = inverse[j], inverse[i]
    return np.asarray(inverse, dtype=np.intp), (words & np.uint64(1)).astype(bool)


@dataclass(frozen=True, eq=False)
class SignedPermutation:
    """An orthogonal matrix of the form ``diag(signs) · P``.

    Parameters
    ----------
    perm : ndarray of shape (dim,), intp
        ``perm[i]`` is the coordinate of ``x`` that lands at ``i``.
    signs : ndarray of shape (dim,), float64, entries ±1
    """

    perm: NDArray[np.intp]
    signs: NDArray[np.float64]

    @classmethod
    def from_seed(cls, seed: int, kind: str, name: str, dim: int) -> SignedPermutation:
        """The role matrix for ``name`` (of kind ``key``, ``seq``, ``set``...) under ``seed``.

        >>> q = SignedPermutation.from_seed(0, "key", "city", 8)
        >>> sorted(q.perm.tolist())
        [0, 1, 2, 3, 4, 5, 6, 7]
        """
        inverse, negative = scatter_of(role_hash(seed, kind, name), dim)
        perm = np.empty(dim, dtype=np.intp)
        perm[inverse] = np.arange(dim, dtype=np.intp)
        signs = 1.0 - 2.0 * negative[perm].astype(np.float64)
        return cls(perm, signs)

    @classmethod
    def identity(cls, dim: int) -> SignedPermutation:
        """The identity matrix of size ``dim``."""
        return cls(np.arange(dim, dtype=np.intp), np.ones(dim, dtype=np.float64))

    @property
    def dim(self) -> int:
        """The dimension the matrix acts on."""
        return int(self.perm.shape[0])

    def apply(self, x: FloatArray) -> FloatArray:
        """``Q x`` for x of shape (..., dim); keeps x's dtype."""
        return x[..., self.perm] * self.signs.astype(x.dtype, copy=False)

    def apply_transpose(self, y: FloatArray) -> FloatArray:
        """``Qᵀ y`` (the inverse of :meth:`apply`) for y of shape (..., dim)."""
        out = np.empty_like(y)
        out[..., self.perm] = y * self.signs.astype(y.dtype, copy=False)
        return out

    @cached_property
    def scatter(self) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Where ``Q`` sends coordinate ``j`` of ``x`` and the sign it gets there.

        ``(Qx)[inverse[j]] = sign[j] * x[j]``, so a sparse vector is bound by moving its
        entries: O(entries) instead of O(dim).
        """
        inverse = np.empty_like(self.perm)
        inverse[self.perm] = np.arange(self.dim, dtype=np.intp)
        return inverse, self.signs[inverse]

    def compose(self, other: SignedPermutation) -> SignedPermutation:
        """The product ``self · other`` (apply ``other`` first)."""
        return SignedPermutation(other.perm[self.perm], self.signs * other.signs[self.perm])

    def transpose(self) -> SignedPermutation:
        """``Qᵀ``, which is also ``Q⁻¹``."""
        inverse = np.empty_like(self.perm)
        inverse[self.perm] = np.arange(self.dim, dtype=np.intp)
        return SignedPermutation(inverse, self.signs[inverse])

    def power(self, k: int) -> SignedPermutation:
        """``Q^k`` for k >= 0, by repeated squaring."""
        result = SignedPermutation.identity(self.dim)
        base: SignedPermutation = self
        while k > 0:
            if k & 1:
                result = result.compose(base)
            base = base.compose(base)
            k >>= 1
        return result

    def matrix(self) -> NDArray[np.float64]:
        """The dense (dim, dim) float64 matrix, for tests and inspection."""
        dense = np.zeros((self.dim, self.dim), dtype=np.float64)
        dense[np.arange(self.dim), self.perm] = self.signs
        return dense
