"""64-bit hashes of symbols, computed for many symbols at once with numpy.

Atoms are derived from these hashes, so they must be the same on every machine and in every
process: they use only unsigned 64-bit integer arithmetic (which wraps identically
everywhere), never Python's salted ``hash()``. The mixing function is the SplitMix64
finaliser; the key of each kind of symbol (``"str"``, ``"gram"``...) comes from SHAKE-256 over
the codebook seed and the kind.

Strings are hashed from their Unicode code points (UTF-32), position by position, so one
vectorised pass hashes every string of a batch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache

import numpy as np
from numpy.typing import NDArray

U64 = NDArray[np.uint64]

_DOMAIN = b"jsonvec/hash/v2\x00"
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_POSITION_SHIFT = np.uint64(21)  # code points are below 2**21


def mix(z: U64) -> U64:
    """The SplitMix64 finaliser, element-wise: a bijection on 64-bit words.

    >>> int(mix(np.array([1], dtype=np.uint64))[0])
    6238072747940578789
    """
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@cache
def kind_key(seed: int, kind: str) -> np.uint64:
    """The 64-bit key of one kind of symbol under ``seed``."""
    h = hashlib.shake_256(_DOMAIN)
    h.update(seed.to_bytes(8, "little"))
    h.update(kind.encode("ascii"))
    return np.uint64(int.from_bytes(h.digest(8), "little"))


def code_points(texts: Sequence[str]) -> tuple[U64, NDArray[np.int64]]:
    """All code points of ``texts`` end to end, and each text's length in code points.

    Lone surrogates (possible in Python strings, never in valid UTF-8) are kept as code points.
    """
    joined = "".join(texts).encode("utf-32-le", "surrogatepass")
    codes = np.frombuffer(joined, dtype="<u4").astype(np.uint64)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return codes, lengths


def starts_of(lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """Where each of a run of pieces of these lengths starts: ``[0, l0, l0 + l1, ...]``."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def hash_texts(texts: Sequence[str], key: np.uint64) -> U64:
    """One 64-bit hash per text, from its code points and their positions.

    >>> k = kind_key(0, "str")
    >>> a, b, c = hash_texts(["ab", "ba", "ab"], k)
    >>> bool(a == c), bool(a == b)
    (True, False)
    """
    codes, lengths = code_points(texts)
    starts = starts_of(lengths)
    positions = np.arange(len(codes), dtype=np.int64) - np.repeat(starts, lengths)
    terms = mix((codes | (positions.astype(np.uint64) << _POSITION_SHIFT)) ^ key)
    sums = np.zeros(len(codes) + 1, dtype=np.uint64)
    np.cumsum(terms, out=sums[1:])  # sums of 64-bit words wrap: exact and order-free
    totals = sums[starts + lengths] - sums[starts]
    return mix(totals ^ mix(lengths.astype(np.uint64) ^ key))


def hash_windows(texts: Sequence[str], n: int, key: np.uint64) -> tuple[NDArray[np.int64], U64]:
    """Hashes of the character windows of length ``n`` of every text.

    A text shorter than ``n`` gives one window, itself. Returns the index of the text each
    window belongs to and the window hashes, text by text, left to right.

    >>> owners, hashes = hash_windows(["abc", "xabcx", "ab"], 3, kind_key(0, "gram"))
    >>> owners.tolist()
    [0, 1, 1, 1, 2]
    >>> bool(hashes[0] == hashes[2]), bool(hashes[0] == hashes[1])
    (True, False)
    """
    codes, lengths = code_points(texts)
    starts = starts_of(lengths)
    counts = np.maximum(lengths - n + 1, 1)
    owners = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    window_starts = np.repeat(starts, counts)
    window_starts += np.arange(len(owners), dtype=np.int64) - np.repeat(starts_of(counts), counts)
    sizes = np.minimum(lengths, n)[owners]
    h = np.full(len(owners), key, dtype=np.uint64)
    padded = np.concatenate([codes, np.zeros(n, dtype=np.uint64)])
    for j in range(n):
        inside = j < sizes
        step = mix(h ^ padded[window_starts + j])
        h = np.where(inside, step, h)
    return owners, mix(h + sizes.astype(np.uint64) * GOLDEN)


def hash_ints(values: NDArray[np.uint64], key: np.uint64 | U64) -> U64:
    """Hashes of 64-bit integer symbols (number bits, anchor numbers)."""
    return mix(mix(values ^ key) + GOLDEN)


def spread(hashes: U64, count: int) -> U64:
    """``count`` further independent words per hash: shape (len(hashes), count)."""
    steps = (np.arange(1, count + 1, dtype=np.uint64) * GOLDEN)[np.newaxis, :]
    return mix(hashes[:, np.newaxis] + steps)
