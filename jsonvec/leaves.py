"""Leaf vectors: "soft" codes for strings and numbers, atoms for true, false and null.

Similar values give similar vectors:

- a string is its exact atom plus a bundle of its character n-grams plus a bundle of its
  words, so ``"Jonathan"`` is close to ``"Johnathan"`` and far from ``"Paris"``;
- a number is a graded code of its magnitude (anchors every few octaves, linearly mixed) plus
  its exact atom, so 100 is close to 101, less close to 150, far from 10⁶, at any scale, while
  two ids that differ by one still get different vectors.

A leaf vector is a weighted sum of atoms. Each part is scaled by its expected norm (distinct
atoms are nearly orthogonal), so a leaf vector is unit length in expectation; only the
record's final vector is normalised exactly. Leaves are built many at once: the strings (or
numbers) of a whole batch go through a few numpy passes, and the result is a
:class:`LeafTable` holding each leaf's sparse entries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from jsonvec.atoms import atom_entries
from jsonvec.errors import EncodeError
from jsonvec.hashing import hash_ints, hash_texts, hash_windows, kind_key
from jsonvec.settings import Settings

if TYPE_CHECKING:
    from jsonvec.codebook import Codebook

Int64Array = NDArray[np.int64]
Float64Array = NDArray[np.float64]

#: Atom symbols of the values that are not strings or numbers.
CONSTANTS = ("true", "false", "null", "{}", "[]")

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_START, _END = "\x02", "\x03"
_EXACT_FLOAT = 2**53  # integers up to this size are exact as float64
_ANCHOR_LEVEL_SHIFT = np.uint64(48)
_ANCHOR_OFFSET = 2**47


@dataclass(frozen=True)
class LeafTable:
    """Sparse leaf vectors: leaf ``i`` has entries ``ptr[i]:ptr[i + 1]``.

    Attributes
    ----------
    ptr : ndarray of shape (n + 1,), int64
    positions : ndarray of shape (nnz,), int64, coordinates in ``[0, dim)``
    values : ndarray of shape (nnz,), float64
    """

    ptr: Int64Array
    positions: Int64Array
    values: Float64Array

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def dense(self, i: int, dim: int) -> Float64Array:
        """Leaf ``i`` as a dense vector: shape (dim,), float64."""
        part = slice(self.ptr[i], self.ptr[i + 1])
        out: Float64Array = np.bincount(
            self.positions[part], weights=self.values[part], minlength=dim
        ).astype(np.float64)
        return out


def constant_name(value: object) -> str:
    """The atom name of ``true``, ``false``, ``null``, ``{}`` or ``[]``."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return "{}" if isinstance(value, dict) else "[]"


@dataclass(frozen=True)
class LeafCoder:
    """Builds leaf tables for one codebook's seed, dimension and settings.

    >>> from jsonvec.codebook import Codebook
    >>> coder = LeafCoder.of(Codebook(dim=64))
    >>> coder.strings(["Paris"]).dense(0, 64).shape
    (64,)
    """

    seed: int
    dim: int
    settings: Settings

    @classmethod
    def of(cls, codebook: Codebook) -> LeafCoder:
        """The leaf coder of ``codebook``'s parameters."""
        return cls(codebook.seed, codebook.dim, codebook.settings)

    def strings(self, texts: Sequence[str]) -> LeafTable:
        """Leaf vectors of strings."""
        s = self.settings
        key = self._key
        folded = [fold_case(t) for t in texts]
        cut = s.ngram_max_chars
        padded = [_START + (f if len(f) <= cut else f[:cut]) + _END for f in folded]
        gram_owner, gram_hash = hash_windows(padded, s.ngram, key("gram"))
        word_lists = [f.split() for f in folded]
        words = [w for ws in word_lists for w in ws]
        word_counts = np.fromiter(map(len, word_lists), dtype=np.int64, count=len(texts))
        word_owner = np.repeat(np.arange(len(texts), dtype=np.int64), word_counts)
        gram_counts = np.bincount(gram_owner, minlength=len(texts)).astype(np.float64)

        exact_w, gram_w, word_w = (
            s.string_exact_weight,
            s.string_ngram_weight,
            s.string_word_weight,
        )
        has_words = word_counts > 0
        scale = 1.0 / np.sqrt(exact_w**2 + gram_w**2 + np.where(has_words, word_w**2, 0.0))
        safe_words = np.where(has_words, word_counts, 1).astype(np.float64)
        pieces = s.piece_nonzeros
        return self._table(
            len(texts),
            [
                _Part(
                    np.arange(len(texts), dtype=np.int64),
                    hash_texts(texts, key("str")),
                    exact_w * scale,
                    s.atom_nonzeros,
                ),
                _Part(
                    gram_owner,
                    gram_hash,
                    (gram_w * scale / np.sqrt(gram_counts))[gram_owner],
                    pieces,
                ),
                _Part(
                    word_owner,
                    hash_texts(words, key("word")),
                    (word_w * scale / np.sqrt(safe_words))[word_owner],
                    pieces,
                ),
            ],
        )

    def numbers(self, numbers: Sequence[int | float]) -> LeafTable:
        """Leaf vectors of numbers; raises :class:`EncodeError` for NaN and infinities."""
        n = len(numbers)
        x, t, exact_hash = self._number_parts(numbers)
        s = self.settings
        key = self._key
        rows = np.arange(n, dtype=np.int64)
        zero = x == 0.0
        nonzero = np.flatnonzero(~zero)
        e = s.number_exact_weight
        part = 1.0 / math.sqrt(1.0 + e * e)
        k = s.atom_nonzeros
        zeros = int(zero.sum())
        parts = [
            _Part(rows, exact_hash, np.full(n, e * part), k),
            _Part(rows[zero], hash_ints(np.zeros(zeros, np.uint64), key("num0")), part, k),
        ]
        sign_key = np.where(x[nonzero] > 0.0, key("lvl+"), key("lvl-")).astype(np.uint64)
        weights = np.asarray(s.number_level_weights, dtype=np.float64)
        graded = part / math.sqrt(float(np.sum(weights * weights)))
        for level, (width, weight) in enumerate(zip(s.number_level_widths, weights, strict=True)):
            u = t[nonzero] / width
            cell = np.floor(u)
            f = u - cell
            norm = np.sqrt((1.0 - f) * (1.0 - f) + f * f)
            anchor = (cell.astype(np.int64) + _ANCHOR_OFFSET).astype(np.uint64)
            anchor ^= np.uint64(level) << _ANCHOR_LEVEL_SHIFT
            for symbol, coef in ((anchor, 1.0 - f), (anchor + np.uint64(1), f)):
                parts.append(
                    _Part(nonzero, hash_ints(symbol, sign_key), graded * weight * coef / norm, k)
                )
        return self._table(n, parts)

    def constants(self, names: Sequence[str]) -> LeafTable:
        """Leaf vectors of ``true``, ``false``, ``null``, ``{}`` and ``[]`` (by name)."""
        for name in names:
            if name not in CONSTANTS:
                raise ValueError(f"not a constant: {name!r}")
        rows = np.arange(len(names), dtype=np.int64)
        hashes = hash_texts(names, self._key("const"))
        return self._table(len(names), [_Part(rows, hashes, 1.0, self.settings.atom_nonzeros)])

    def _key(self, kind: str) -> np.uint64:
        return kind_key(self.seed, kind)

    def _number_parts(
        self, numbers: Sequence[int | float]
    ) -> tuple[Float64Array, Float64Array, NDArray[np.uint64]]:
        """Each number as float64, its piecewise-linear log2 magnitude and its exact hash."""
        huge = [
            i
            for i, v in enumerate(numbers)
            if isinstance(v, int) and not -_EXACT_FLOAT <= v <= _EXACT_FLOAT
        ]
        if huge:
            numbers = list(numbers)
            big = {i: numbers[i] for i in huge}
            for i in huge:
                numbers[i] = 1.0  # placeholder, replaced below
        x = np.array(numbers, dtype=np.float64).reshape(len(numbers))
        bad = ~np.isfinite(x)
        if bad.any():
            raise EncodeError(f"cannot encode the number {numbers[int(np.argmax(bad))]!r}")
        x = x + 0.0  # -0.0 becomes 0.0: equal numbers share their exact atom
        fraction, exponent = np.frexp(np.abs(x))
        t = exponent.astype(np.float64) - 2.0 + 2.0 * fraction
        exact_hash = hash_ints(x.view(np.uint64), self._key("num"))
        if huge:
            self._huge_parts(big, x, t, exact_hash)
        return x, t, exact_hash

    def _huge_parts(
        self,
        big: dict[int, int | float],
        x: Float64Array,
        t: Float64Array,
        exact_hash: NDArray[np.uint64],
    ) -> None:
        """Fill in integers beyond 2**53: magnitude from their bits, exact atom from digits."""
        for i, value in big.items():
            assert isinstance(value, int)
            x[i] = 1.0 if value > 0 else -1.0
            t[i] = log2_magnitude(abs(value))
            try:
                exact = float(value) == value
            except OverflowError:
                exact = False
            if exact:
                bits = np.array([float(value)], dtype=np.float64)
                exact_hash[i] = hash_ints(bits.view(np.uint64), self._key("num"))[0]
            else:
                exact_hash[i] = hash_texts([str(value)], self._key("numtext"))[0]

    def _table(self, n: int, parts: list[_Part]) -> LeafTable:
        """Gather the parts' atom entries leaf by leaf (part by part within a leaf)."""
        counts = [np.bincount(p.owners, minlength=n) * p.entries(self.dim) for p in parts]
        ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(sum(counts), out=ptr[1:])
        positions = np.empty(int(ptr[-1]), dtype=np.int64)
        values = np.empty(int(ptr[-1]), dtype=np.float64)
        before = ptr[:-1].copy()  # where each leaf's entries of the next part start
        for part, count in zip(parts, counts, strict=True):
            k = part.entries(self.dim)
            pos, val = atom_entries(part.hashes, self.dim, k)
            val *= np.broadcast_to(part.coefs, part.owners.shape)[:, np.newaxis]
            # a part lists its atoms leaf by leaf: entry j of owner o goes after o's earlier parts
            first = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(count, out=first[1:])
            rank = np.arange(pos.size, dtype=np.int64) - np.repeat(first[part.owners], k)
            dest = np.repeat(before[part.owners], k) + rank
            positions[dest] = pos.ravel()
            values[dest] = val.ravel()
            before += count
        return LeafTable(ptr, positions, values)


@dataclass(frozen=True)
class _Part:
    """Atoms of one kind in many leaves: owner leaf (ascending), hash, coefficient, nonzeros."""

    owners: Int64Array
    hashes: NDArray[np.uint64]
    coefs: Float64Array | float
    nonzeros: int

    def entries(self, dim: int) -> int:
        return min(self.nonzeros, dim)


def fold_case(text: str) -> str:
    """Lower-case ASCII letters only: the result must not depend on Python's Unicode tables.

    >>> fold_case("Élan PARIS")
    'Élan paris'
    """
    return text.translate(_ASCII_LOWER)


def log2_magnitude(m: int | float) -> float:
    """A piecewise-linear log2 of ``m > 0``, exact at powers of two, from IEEE operations only.

    ``m = f·2^e`` with ``f`` in [0.5, 1) gives ``e - 2 + 2f``: continuous, increasing, and
    within 0.09 of ``log2(m)``. Integers too large for a float are handled exactly.

    >>> [log2_magnitude(v) for v in (1, 2, 3, 0.25)]
    [0.0, 1.0, 1.5, -2.0]
    """
    try:
        fraction, exponent = math.frexp(float(m))
    except OverflowError:
        assert isinstance(m, int)
        exponent = m.bit_length()
        fraction = (m >> (exponent - 53)) / 2.0**53
    return exponent - 2 + 2.0 * fraction


def string_vector(text: str, seed: int, dim: int, settings: Settings) -> Float64Array:
    """The leaf vector of one string, dense: shape (dim,), float64."""
    return LeafCoder(seed, dim, settings).strings([text]).dense(0, dim)


def number_vector(x: int | float, seed: int, dim: int, settings: Settings) -> Float64Array:
    """The leaf vector of one number, dense: shape (dim,), float64."""
    return LeafCoder(seed, dim, settings).numbers([x]).dense(0, dim)


def constant_vector(name: str, seed: int, dim: int, settings: Settings) -> Float64Array:
    """The atom of ``true``, ``false``, ``null`` or an empty ``{}`` / ``[]``, dense."""
    return LeafCoder(seed, dim, settings).constants([name]).dense(0, dim)
