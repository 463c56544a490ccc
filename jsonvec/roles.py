"""Role matrices: seeded signed permutations, exactly orthogonal and cheap to apply.

A signed permutation ``Q`` maps ``x`` to ``(Qx)[i] = signs[i] * x[perm[i]]``. Every such matrix
is orthogonal (``QᵀQ = I`` exactly, in any precision), products and powers of them are signed
permutations again, applying one costs O(dim) instead of the O(dim²) of a dense matrix, and it
needs no floating-point arithmetic at all, so it is identical on every machine. It is derived
from (seed, role name) by the stable hash in :mod:`jsonvec.atoms`, so nothing has to be stored
per key: a codebook stays a few hundred bytes whatever the number of keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from jsonvec.atoms import random_words

FloatArray = NDArray[np.floating]


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
        words = random_words(seed, kind, name, dim + (dim + 63) // 64)
        perm = np.argsort(words[:dim], kind="stable").astype(np.intp)
        sign_bits = np.unpackbits(words[dim:].view(np.uint8))[:dim]
        signs = 1.0 - 2.0 * sign_bits.astype(np.float64)
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
