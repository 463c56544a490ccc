"""Atoms: the random vectors that stand for symbols, derived from (seed, kind, symbol).

An atom is a bipolar vector with entries ``±1/sqrt(dim)`` (unit length exactly). Its signs are
the bits of SHAKE-256 over the seed, a kind tag and the symbol's UTF-8 bytes, so an atom depends
on nothing else: not on the order symbols are met, Python's salted ``hash()``, numpy's random
streams or the platform. Two distinct atoms have cosine ~ N(0, 1/dim).

Sums of atoms (bundles) are computed from bit counts in integers, so they are exact.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

_DOMAIN = b"jsonvec/atom/v1\x00"
_SHORT = 32  # symbols up to this length have their digests cached


def symbol_bytes(symbol: str | bytes) -> bytes:
    """UTF-8 bytes of a symbol; lone surrogates are kept (``surrogatepass``)."""
    if isinstance(symbol, bytes):
        return symbol
    return symbol.encode("utf-8", "surrogatepass")


def digest(seed: int, kind: str, symbol: str | bytes, nbytes: int) -> bytes:
    """``nbytes`` pseudo-random bytes determined by (seed, kind, symbol) alone.

    Short symbols (n-grams, words, anchors) recur constantly and are cached.

    >>> digest(0, "str", "x", 4) == digest(0, "str", "x", 4)
    True
    """
    if len(symbol) <= _SHORT:
        return _short_digest(seed, kind, symbol, nbytes)
    return _digest(seed, kind, symbol, nbytes)


@lru_cache(maxsize=1 << 15)
def _short_digest(seed: int, kind: str, symbol: str | bytes, nbytes: int) -> bytes:
    return _digest(seed, kind, symbol, nbytes)


def _digest(seed: int, kind: str, symbol: str | bytes, nbytes: int) -> bytes:
    h = hashlib.shake_256(_DOMAIN)
    h.update(seed.to_bytes(8, "little"))
    h.update(kind.encode("ascii") + b"\x00")
    h.update(symbol_bytes(symbol))
    return h.digest(nbytes)


def atom_bits(seed: int, kind: str, symbol: str | bytes, dim: int) -> NDArray[np.uint8]:
    """The sign bits of an atom: ndarray of shape (dim,), uint8 in {0, 1}."""
    raw = np.frombuffer(digest(seed, kind, symbol, dim // 8), dtype=np.uint8)
    return np.unpackbits(raw)


def atom_scale(dim: int) -> float:
    """The magnitude ``1/sqrt(dim)`` of every atom entry."""
    return 1.0 / math.sqrt(dim)


def atom(seed: int, kind: str, symbol: str | bytes, dim: int) -> NDArray[np.float64]:
    """The atom of a symbol: ndarray of shape (dim,), float64, entries ``±1/sqrt(dim)``.

    The result is read-only; atoms of short symbols are cached.

    >>> a = atom(0, "str", "Paris", 64)
    >>> float(np.dot(a, a))
    1.0
    """
    if len(symbol) <= _SHORT:
        return _short_atom(seed, kind, symbol, dim)
    return _atom(seed, kind, symbol, dim)


@lru_cache(maxsize=1 << 11)
def _short_atom(seed: int, kind: str, symbol: str | bytes, dim: int) -> NDArray[np.float64]:
    return _atom(seed, kind, symbol, dim)


def _atom(seed: int, kind: str, symbol: str | bytes, dim: int) -> NDArray[np.float64]:
    bits = atom_bits(seed, kind, symbol, dim)
    vector = (bits.astype(np.float64) * 2.0 - 1.0) * atom_scale(dim)
    vector.flags.writeable = False
    return vector


def bundle(seed: int, kind: str, symbols: Sequence[str | bytes], dim: int) -> NDArray[np.float64]:
    """The exact sum of the atoms of ``symbols`` (repeats count): shape (dim,), float64.

    The sum is formed in integers (counts of set bits), so it does not depend on order.
    """
    if not symbols:
        return np.zeros(dim, dtype=np.float64)
    raw = b"".join(digest(seed, kind, s, dim // 8) for s in symbols)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8).reshape(len(symbols), dim // 8), axis=1)
    ones = bits.sum(axis=0, dtype=np.int64)
    total: NDArray[np.float64] = (2 * ones - len(symbols)).astype(np.float64) * atom_scale(dim)
    return total


def random_words(seed: int, kind: str, symbol: str | bytes, count: int) -> NDArray[np.uint64]:
    """``count`` pseudo-random 64-bit words determined by (seed, kind, symbol)."""
    raw = _digest(seed, kind, symbol, 8 * count)  # roles are cached by their owner, not here
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)
