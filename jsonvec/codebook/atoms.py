"""Atoms: the random vectors that stand for symbols, derived from (seed, kind, symbol).

An atom is a *sparse ternary* vector: the dimension is cut into ``k`` equal blocks and the atom has
one entry ``±1/sqrt(k)`` in each block, its positions and signs drawn from the symbol's 64-bit hash
(:mod:`jsonvec.codebook.hashing`). It is unit length exactly, depends on nothing but (seed, kind,
symbol), and two distinct atoms have cosine of mean 0 and variance ``1/dim``, the same as dense
random ±1 vectors (two atoms meet in a block with probability ``k/dim``, and each meeting adds
``±1/k``). With ``k = dim`` an atom is a dense ±1/sqrt(dim) vector.

Sparse atoms make a leaf vector cheap: a string of 30 characters is about 35 atoms, so 280
entries at ``k = 8`` instead of 35 dense vectors of 1,024.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
from numpy.typing import NDArray

from jsonvec.codebook.hashing import U64, hash_texts, kind_key, spread


def atom_entries(
    hashes: U64, dim: int, nonzeros: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Positions and values of the atoms with the given hashes.

    Returns
    -------
    positions : ndarray of shape (len(hashes), nonzeros), int64, one per block
    values : ndarray of the same shape, float64, entries ``±1/sqrt(nonzeros)``
    """
    block = dim // nonzeros
    words = spread(hashes, nonzeros)
    offsets = (words >> np.uint64(1)) % np.uint64(block)
    positions = offsets.astype(np.int64) + np.arange(0, block * nonzeros, block, dtype=np.int64)
    signs = 1.0 - 2.0 * (words & np.uint64(1)).astype(np.float64)
    return positions, signs * (1.0 / math.sqrt(nonzeros))


def dense(
    positions: NDArray[np.int64], values: NDArray[np.float64], dim: int
) -> NDArray[np.float64]:
    """The dense vector with ``values`` added at ``positions``: shape (dim,), float64."""
    out: NDArray[np.float64] = np.bincount(
        positions.ravel(), weights=values.ravel(), minlength=dim
    ).astype(np.float64)
    return out


def atom(seed: int, kind: str, symbol: str, dim: int, nonzeros: int) -> NDArray[np.float64]:
    """The atom of a text symbol as a dense vector: shape (dim,), float64, unit length.

    >>> a = atom(0, "str", "Paris", 64, 8)
    >>> round(float(np.dot(a, a)), 12), int(np.count_nonzero(a))
    (1.0, 8)
    """
    hashes = hash_texts([symbol], kind_key(seed, kind))
    return dense(*atom_entries(hashes, dim, nonzeros), dim)


def random_words(seed: int, kind: str, symbol: str, count: int) -> NDArray[np.uint64]:
    """``count`` pseudo-random 64-bit words determined by (seed, kind, symbol)."""
    h = hashlib.shake_256(b"jsonvec/atom/v1\x00")
    h.update(seed.to_bytes(8, "little"))
    h.update(kind.encode("ascii") + b"\x00")
    h.update(symbol.encode("utf-8", "surrogatepass"))
    return np.frombuffer(h.digest(8 * count), dtype="<u8").astype(np.uint64)
